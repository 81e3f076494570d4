import { IsBoolean, IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';

export const MAX_PAGES = 200;

/** POST /reports: one report per user at a time (keyed by user). */
export class CreateReportDto {
  @IsString()
  @Length(1, 100)
  userId!: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_PAGES)
  pages: number = 10;

  /** Supersede the user's queued or running report instead of joining it. */
  @IsOptional()
  @IsBoolean()
  replace: boolean = false;
}
