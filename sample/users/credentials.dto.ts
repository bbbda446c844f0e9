import { IsEmail, IsNotEmpty, IsString, MaxLength, MinLength } from 'class-validator';

/** `{ email, password }` of a login: a wrong pair is a 401; only a malformed body is a 400. */
export class LoginDto {
  @IsEmail({ require_tld: false }) @MaxLength(254)
  email!: string;

  @IsString() @IsNotEmpty() @MaxLength(128)
  password!: string;
}

/** The `user` of a create-user body: a real address and a password of 8 characters or more. */
export class NewUserDto {
  @IsEmail({ require_tld: false }) @MaxLength(254)
  email!: string;

  @IsString() @MinLength(8) @MaxLength(128)
  password!: string;
}
