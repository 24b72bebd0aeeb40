import { ListRepository } from '../db/list.repository';
import { ListService } from './list.service';
import type { BuildContext } from '../shared/build-context';

/** Certificate, device and WS1 inventory lists and exports. */
export function buildListsModule({ db, clock }: BuildContext) {
  return {
    lists: new ListService(new ListRepository(db), clock),
  };
}

export type ListsModule = ReturnType<typeof buildListsModule>;
