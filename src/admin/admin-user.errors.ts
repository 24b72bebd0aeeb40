import { ConflictError } from '../shared/errors';

/** A change that would leave no enabled owner: someone must always be able to manage the console. */
export class LastOwnerError extends ConflictError {
  constructor() {
    super('this would leave no enabled owner; make another person owner first');
  }
}
