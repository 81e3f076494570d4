import { Injectable } from '@nestjs/common';
import { Task } from 'nest-stream-queue';

@Injectable()
export class EchoTasks {
  @Task('template.echo')
  echo(payload: { text: string }): { echoed: string } {
    return { echoed: payload.text };
  }
}
