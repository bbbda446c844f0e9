import { Body, Controller, Get, Param, ParseIntPipe, Post } from '@nestjs/common';
import { AccessAuth, TokenPayload, type AccessTokenPayload } from '../../lib/index.js';
import { NewUserDto } from '../users/credentials.dto.js';
import { UsersService, type PublicUser } from '../users/users.service.js';
import { ValidatedBody } from '../validated-body.pipe.js';
import { userIdOf } from './current-user.js';

interface UserAnswer {
  current_user: PublicUser;
  user: PublicUser;
}

/** The gem's Rails example users resource, behind an access token. */
@Controller('users')
@AccessAuth()
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get(':id')
  show(@Param('id', ParseIntPipe) id: number, @TokenPayload() payload: AccessTokenPayload): UserAnswer {
    return { current_user: this.users.get(userIdOf(payload)), user: this.users.get(id) };
  }

  @Post()
  async create(
    @Body('user', ValidatedBody(NewUserDto)) fields: NewUserDto,
    @TokenPayload() payload: AccessTokenPayload,
  ): Promise<UserAnswer> {
    const currentUser = this.users.get(userIdOf(payload));
    return { current_user: currentUser, user: await this.users.create(fields.email, fields.password) };
  }
}
