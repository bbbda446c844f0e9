import { Controller, Get, Injectable, Module, UseGuards } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { AuthGuard, PassportModule, PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { BENCH_SECRET } from './setups.js';

/** The stock stateless setup of the NestJS docs ("Authentication" recipe, passport-jwt): the comparison point. */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy) {
  constructor() {
    super({ jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), ignoreExpiration: false, secretOrKey: BENCH_SECRET });
  }

  validate(payload: { sub: number }): { userId: number } {
    return { userId: payload.sub };
  }
}

@Controller()
class StockController {
  @UseGuards(AuthGuard('jwt'))
  @Get('ping')
  ping(): { ok: boolean } {
    return { ok: true };
  }
}

@Module({
  imports: [PassportModule, JwtModule.register({ secret: BENCH_SECRET, signOptions: { expiresIn: '1h' } })],
  controllers: [StockController],
  providers: [JwtStrategy],
})
export class StockJwtModule {}
