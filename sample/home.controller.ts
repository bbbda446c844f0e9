import { Controller, Get } from '@nestjs/common';

@Controller()
export class HomeController {
  /** Answers 200 once the app is up (the contract's readiness probe). */
  @Get()
  home(): string {
    return 'Welcome to the nestjs-jwt-sessions sample app!';
  }
}
