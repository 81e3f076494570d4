import { Test, TestingModule } from '@nestjs/testing';
import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { App } from 'supertest/types';
import { AppModule } from './../src/app.module';

describe('AppController (e2e)', () => {
  let app: INestApplication<App>;

  beforeEach(async () => {
    const moduleFixture: TestingModule = await Test.createTestingModule({
      imports: [AppModule],
    }).compile();

    app = moduleFixture.createNestApplication();
    await app.init();
  });

  it('/echo (POST) runs the task and answers with its result', () => {
    return request(app.getHttpServer())
      .post('/echo')
      .send({ text: 'hello from jest' })
      .expect(201)
      .expect({ echoed: 'hello from jest' });
  });

  afterEach(async () => {
    await app.close();
  });
});
