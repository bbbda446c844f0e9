import { IsEmail, IsString, MaxLength, MinLength } from 'class-validator';

/** `{ email, password }`: the login body, and the `user` of a create-user body. */
export class CredentialsDto {
  @IsEmail() @MaxLength(254)
  email!: string;

  @IsString() @MinLength(8) @MaxLength(128)
  password!: string;
}
