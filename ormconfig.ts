// DataSource for the TypeORM CLI (`npm run typeorm -- migration:show`), built from the same
// configuration as the service (SCEPTER_HOME and its scepter.env): SCEPTER_DATABASE decides SQLite file or PostgreSQL URL.
import { DataSource } from 'typeorm';
import { loadHomeConfig } from './src/config/config-file';
import { dataSourceOptions } from './src/db/database';

const config = loadHomeConfig(); // the home's scepter.env, as the server and the CLI read it
export default new DataSource(dataSourceOptions(config.databaseUrl, config.databasePoolSize));
