export { LevelStore, UnitOfWork, type Page, type ListOptions } from './level-store.js';
export { Mutex } from './mutex.js';
export { K } from './keys.js';
export { repositories, queries, type Repositories, type Queries, type Repo } from './repositories.js';
export { recordChange, type ChangeInput } from './changes.js';
