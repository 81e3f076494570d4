import { Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsNotEmpty, IsOptional, IsString } from 'class-validator';

export const MAX_RECIPIENTS = 1_000;

/** POST /emails: one address or a list of them, one task each. */
export class SendEmailsDto {
  /** A single address is taken as a list of one. */
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? [value] : value))
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_RECIPIENTS)
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  to!: string[];

  @IsOptional()
  @IsString()
  subject: string = 'Hello from nest-stream-queue';
}
