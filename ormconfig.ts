// DataSource for the TypeORM CLI (`npm run typeorm -- migration:show`), built from the same
// configuration as the service: SCEPTER_DATABASE decides SQLite file or PostgreSQL URL.
import { DataSource } from 'typeorm';
import { loadConfig } from './src/config/config';
import { dataSourceOptions } from './src/db/database';

const config = loadConfig();
export default new DataSource(dataSourceOptions(config.databaseUrl, config.databasePoolSize));
