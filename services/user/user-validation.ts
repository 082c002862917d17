/** Field rules of acme.user.v1 (see the comments in user.proto); each returns the violations it finds. */
import { checkNoControl, checkText, type FieldViolation } from '../kit';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const MAX_EMAIL = 254; // RFC 5321 path limit
const MAX_DISPLAY_NAME = 80;
const MIN_PASSWORD = 8;
const MAX_PASSWORD = 1024; // bounds scrypt work per request

export function checkEmail(field: string, email: string): FieldViolation[] {
  if (email === '') return [{ field, description: 'is required' }];
  const control = checkNoControl(field, email);
  if (control.length > 0) return control;
  if (email.length > MAX_EMAIL || !EMAIL.test(email)) return [{ field, description: 'must be a valid email address' }];
  return [];
}

export function checkDisplayName(field: string, name: string): FieldViolation[] {
  return checkText(field, name, MAX_DISPLAY_NAME);
}

export function checkPassword(field: string, password: string): FieldViolation[] {
  if (password.length < MIN_PASSWORD) return [{ field, description: `must be at least ${MIN_PASSWORD} characters` }];
  if (password.length > MAX_PASSWORD) return [{ field, description: `must be at most ${MAX_PASSWORD} characters` }];
  if (password.includes('\u0000')) return [{ field, description: 'must not contain NUL characters' }];
  return [];
}
