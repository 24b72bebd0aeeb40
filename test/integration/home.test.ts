import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { Client } from 'pg';
import { run, waitFor } from '../support/proc';
import { freeTcpPort } from '../support/test-server';
import { createTestDatabase } from '../support/postgres';
import { initHome, scepter, scratchDir, startHomeServer } from './ops-support';

/** The CA fingerprint as openssl prints it (AA:BB:...). */
async function opensslFingerprint(certFile: string): Promise<string> {
  const r = await run('openssl', ['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256']);
  return r.stdout.trim().split('=')[1]!;
}

const treeOf = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }).map(String).sort() : []);

describe('one home: SCEPTER_HOME, scepter.env, scepter init and status', function () {
  it('init sets a home up (config 0600, database, CA); status from any folder names them and the CA fingerprint', async () => {
    const home = await initHome(['--public-url', 'https://scepter.example.com', '--ca-name', 'Ops Test CA', '--ra', 'on']);
    const file = path.join(home, 'scepter.env');
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).to.contain('SCEPTER_PUBLIC_URL=https://scepter.example.com');
    expect(text).to.contain('SCEPTER_CA_COMMON_NAME="Ops Test CA"');
    expect(text).to.contain('SCEPTER_RA=on');
    expect(fs.existsSync(path.join(home, 'data', 'scepter.sqlite'))).to.equal(true);
    expect(fs.existsSync(path.join(home, 'certs', 'ra-encrypt.cert.pem'))).to.equal(true);

    const r = await scepter(['status', '--json'], { env: { SCEPTER_HOME: home } });
    expect(r.code, r.stderr).to.equal(0);
    const s = JSON.parse(r.stdout);
    expect(s).to.include({
      home,
      homeFrom: 'SCEPTER_HOME',
      configFile: file,
      publicUrl: 'https://scepter.example.com',
      publicUrlIsDefault: false,
      ready: true,
    });
    expect(s.database).to.deep.equal({ url: path.join(home, 'data', 'scepter.sqlite'), state: 'ready', pendingMigrations: [] });
    expect(s.ca.subject).to.equal('CN=Ops Test CA,O=Scepter');
    expect(s.ca.sha256).to.equal(await opensslFingerprint(path.join(home, 'certs', 'ca.cert.pem')));

    const human = await scepter(['status'], { env: { SCEPTER_HOME: home } });
    expect(human.stdout).to.match(/^Home: +.+ \(SCEPTER_HOME\)$/m);
    expect(human.stdout).to.contain(`CA SHA-256:   ${s.ca.sha256}`);
    expect(human.stdout).to.match(/^Migrations: +up to date$/m);
  });

  it('the CLI in an empty home exits 2 naming where it looked, and creates nothing there (text and --json)', async () => {
    const home = path.join(scratchDir('empty'), 'nothing-here');
    const r = await scepter(['integration', 'list'], { env: { SCEPTER_HOME: home } });
    expect(r.code).to.equal(2);
    expect(r.stdout).to.equal('');
    expect(r.stderr.trim()).to.equal(
      `scepter: SCEPTER_CERTS_DIR: no CA in ${home}/certs (home ${home}, no config file); set SCEPTER_HOME, or start the server or run \`scepter init\` there first`,
    );
    const j = await scepter(['--json', 'cert', 'list'], { env: { SCEPTER_HOME: home } });
    expect(j.code).to.equal(2);
    expect(JSON.parse(j.stdout).error).to.contain(`no CA in ${home}/certs`);
    expect(fs.existsSync(home), 'the home was created').to.equal(false);

    // a CA without a database: refused as well, and still no database file
    const other = await initHome();
    fs.rmSync(path.join(other, 'data'), { recursive: true });
    const noDb = await scepter(['integration', 'list'], { env: { SCEPTER_HOME: other } });
    expect(noDb.code).to.equal(2);
    expect(noDb.stderr).to.contain(`no database at ${other}/data/scepter.sqlite (home ${other}, config ${other}/scepter.env)`);
    expect(fs.existsSync(path.join(other, 'data'))).to.equal(false);
    const st = await scepter(['status', '--json'], { env: { SCEPTER_HOME: other } });
    expect(st.code).to.equal(1);
    expect(JSON.parse(st.stdout)).to.deep.include({ ready: false });
    expect(JSON.parse(st.stdout).database.state).to.equal('missing');
    expect(treeOf(other)).to.not.include('data');
  });

  it('PostgreSQL: the CLI refuses a database without Scepter tables and creates none; init sets it up', async () => {
    const pg = await createTestDatabase();
    try {
      const home = path.join(scratchDir('pg'), 'home');
      fs.mkdirSync(path.join(home, 'certs'), { recursive: true });
      const env = { SCEPTER_HOME: home, SCEPTER_DATABASE: pg.url };
      // a CA alone (copied from another home) is not enough: the database is empty
      const other = await initHome();
      for (const f of ['ca.key.pem', 'ca.cert.pem']) fs.copyFileSync(path.join(other, 'certs', f), path.join(home, 'certs', f));
      const r = await scepter(['integration', 'list'], { env });
      expect(r.code).to.equal(2);
      expect(r.stderr).to.contain('holds no Scepter tables');
      const c = new Client({ connectionString: pg.url });
      await c.connect();
      const tables = await c.query("SELECT COUNT(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'");
      await c.end();
      expect(tables.rows[0].n, 'tables created by a refused command').to.equal(0);
      const s = JSON.parse((await scepter(['status', '--json'], { env })).stdout);
      expect(s.database.state).to.equal('not set up');
      expect(s.database.url).to.equal(pg.url.replace(/(\/\/[^:/@]+):[^@]*@/, '$1:***@'));
      const init = await scepter(['init', '--home', home, '--database', pg.url, '--force'], { env: { SCEPTER_HOME: home } });
      expect(init.code, init.stderr).to.equal(0);
      const after = JSON.parse((await scepter(['status', '--json'], { env: { SCEPTER_HOME: home } })).stdout);
      expect(after.database).to.include({ state: 'ready' });
      expect(after.database.pendingMigrations).to.deep.equal([]);
      expect((await scepter(['integration', 'list'], { env: { SCEPTER_HOME: home } })).stdout.trim()).to.equal('no integrations');
    } finally {
      await pg.drop();
    }
  });

  it('server and CLI read the same scepter.env: port, public URL in paste blocks, relative paths against the home; the environment wins', async () => {
    const port = await freeTcpPort();
    const home = await initHome(['--public-url', 'https://scep.example.org', '--port', String(port), '--database', 'db/ca.sqlite']);
    expect(fs.existsSync(path.join(home, 'db', 'ca.sqlite'))).to.equal(true);
    const server = await startHomeServer(home);
    try {
      expect(server.output()).to.contain(`Scepter listening on http://0.0.0.0:${port}`);
      expect(server.output()).to.contain(`Home: ${home} (config ${home}/scepter.env)`);
      expect(server.output()).to.not.match(/WARN/);
      const crl = await fetch(`http://127.0.0.1:${port}/crl/ca.crl`);
      expect(crl.status).to.equal(200);
      // the CLI, from another folder, on the same database: the paste block carries the public URL
      const created = await scepter(['--json', 'integration', 'create', '--type', 'ios-certs', '--name', 'Laptops', '--allow-legacy'], {
        env: { SCEPTER_HOME: home },
      });
      expect(created.code, created.stderr).to.equal(0);
      const v = JSON.parse(created.stdout);
      expect(v.scepUrl).to.equal(`https://scep.example.org/scep/${v.id}`);
      const listed = await scepter(['integration', 'list'], { env: { SCEPTER_HOME: home } });
      expect(listed.stdout).to.contain('Laptops');
      // an environment variable wins over the file
      const st = JSON.parse((await scepter(['status', '--json'], { env: { SCEPTER_HOME: home, SCEPTER_PUBLIC_URL: 'https://other.example.net' } })).stdout);
      expect(st.publicUrl).to.equal('https://other.example.net');
      expect(st.database.url).to.equal(path.join(home, 'db', 'ca.sqlite'));
    } finally {
      await server.kill();
    }
  });

  it('the localhost default: a WARN line at server start, and status flags it', async () => {
    const home = await initHome();
    const server = await startHomeServer(home, { SCEPTER_HTTP_PORT: String(await freeTcpPort()) });
    try {
      await waitFor(() => /WARN/.test(server.output()), 10_000, 'the WARN line');
      expect(server.output()).to.match(/^WARN SCEPTER_PUBLIC_URL is not set: devices and WS1 are told http:\/\/localhost:\d+, which they cannot reach/m);
    } finally {
      await server.kill();
    }
    const s = JSON.parse((await scepter(['status', '--json'], { env: { SCEPTER_HOME: home } })).stdout);
    expect(s).to.include({ publicUrlIsDefault: true, publicUrl: 'http://localhost:8080', ready: true });
    const human = await scepter(['status'], { env: { SCEPTER_HOME: home } });
    expect(human.stdout).to.match(/^Public URL: +http:\/\/localhost:8080 +WARNING: the localhost default/m);
  });

  it('status lists pending migrations without running them', async () => {
    const home = await initHome();
    const db = path.join(home, 'data', 'scepter.sqlite');
    const sqlite = (sql: string) =>
      run(
        process.execPath,
        [
          '-e',
          `const s=require('sqlite3');const d=new s.Database(process.argv[1]);d.all(process.argv[2],(e,r)=>{if(e)throw e;console.log(JSON.stringify(r));d.close();})`,
          db,
          sql,
        ],
        { cwd: path.resolve(__dirname, '..', '..', '..') },
      );
    const last = JSON.parse((await sqlite('SELECT name FROM migrations ORDER BY timestamp DESC LIMIT 1')).stdout)[0].name as string;
    await sqlite(`DELETE FROM migrations WHERE name = '${last}'`);
    const s = JSON.parse((await scepter(['status', '--json'], { env: { SCEPTER_HOME: home } })).stdout);
    expect(s.database.pendingMigrations).to.deep.equal([last]);
    expect(JSON.parse((await sqlite(`SELECT COUNT(*) AS n FROM migrations WHERE name = '${last}'`)).stdout)[0].n).to.equal(0);
  });

  it('init refuses to overwrite a home (exit 2, file unchanged) unless --force, which keeps the CA', async () => {
    const home = await initHome(['--public-url', 'https://a.example.com']);
    const file = path.join(home, 'scepter.env');
    const before = fs.readFileSync(file, 'utf8');
    const caBefore = fs.readFileSync(path.join(home, 'certs', 'ca.key.pem'), 'utf8');
    const again = await scepter(['init', '--home', home, '--public-url', 'https://b.example.com']);
    expect(again.code).to.equal(2);
    expect(again.stderr).to.contain(`${file} exists already (--force rewrites it; the CA and database are kept)`);
    expect(fs.readFileSync(file, 'utf8')).to.equal(before);
    const bad = await scepter(['init', '--home', path.join(home, 'x'), '--public-url', 'ftp://nope', '--key-bits', '2048']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('SCEPTER_PUBLIC_URL');
    expect(fs.existsSync(path.join(home, 'x')), 'nothing written for a bad value').to.equal(false);
    // a database that cannot be reached: init fails and leaves no config file behind
    const unreachable = path.join(scratchDir('unreachable'), 'home');
    const failed = await scepter(['init', '--home', unreachable, '--database', 'postgres://nobody@127.0.0.1:1/none', '--key-bits', '2048']);
    expect(failed.code).to.equal(1);
    expect(failed.stderr).to.match(/^scepter: .*(ECONNREFUSED|connect)/m);
    expect(fs.existsSync(path.join(unreachable, 'scepter.env'))).to.equal(false);
    const forced = await scepter(['--json', 'init', '--home', home, '--public-url', 'https://b.example.com', '--force']);
    expect(forced.code, forced.stderr).to.equal(0);
    expect(JSON.parse(forced.stdout)).to.include({ caCreated: false, publicUrl: 'https://b.example.com' });
    expect(fs.readFileSync(path.join(home, 'certs', 'ca.key.pem'), 'utf8')).to.equal(caBefore);
  });

  it('a misspelt setting in scepter.env stops server and CLI with the file and line (exit 2)', async () => {
    const home = await initHome();
    fs.appendFileSync(path.join(home, 'scepter.env'), 'SCEPTER_PUBLIC_ULR=https://typo.example.com\n');
    const r = await scepter(['integration', 'list'], { env: { SCEPTER_HOME: home } });
    expect(r.code).to.equal(2);
    expect(r.stderr.trim()).to.equal(`scepter: SCEPTER_PUBLIC_ULR: ${home}/scepter.env:4: not a Scepter setting`);
    const err = await startHomeServer(home).then(
      async (s) => {
        await s.kill();
        return '';
      },
      (e: Error) => e.message,
    );
    expect(err).to.match(/server exited 2: scepter: invalid configuration: SCEPTER_PUBLIC_ULR: .*scepter\.env:4: not a Scepter setting/);
  });

  it('init --passphrase-file encrypts the CA key; server and CLI read the passphrase from that file', async () => {
    const dir = scratchDir('pass');
    const pass = path.join(dir, 'ca.pass');
    fs.writeFileSync(pass, 'correct horse battery staple\n', { mode: 0o600 });
    const home = await initHome(['--passphrase-file', pass, '--public-url', 'https://p.example.com']);
    expect(fs.readFileSync(path.join(home, 'certs', 'ca.key.pem'), 'utf8')).to.contain('ENCRYPTED PRIVATE KEY');
    expect(fs.readFileSync(path.join(home, 'scepter.env'), 'utf8')).to.contain(`SCEPTER_CA_KEY_PASSPHRASE_FILE=${pass}`);
    const ok = await scepter(['ca', 'show', '--json'], { env: { SCEPTER_HOME: home } });
    expect(ok.code, ok.stderr).to.equal(0);
    fs.writeFileSync(pass, 'wrong passphrase\n');
    const wrong = await scepter(['ca', 'show'], { env: { SCEPTER_HOME: home } });
    expect(wrong.code).to.equal(2);
    expect(wrong.stderr).to.contain('cannot decrypt');
  });

  it('init on a terminal asks for what the flags left out', async function () {
    const home = path.join(scratchDir('tty'), 'home');
    // script(1) gives the CLI a pseudo-terminal; the answers arrive on it line by line
    const answers = 'https://tty.example.com\nTTY CA\n2048\n-\noff\n';
    const cmd = `${process.execPath} ${path.resolve(__dirname, '..', '..', '..', 'bin', 'scepter')} init --home ${home}`;
    const r = await run('script', ['-qec', cmd, '/dev/null'], { input: answers, timeoutMs: 120_000, cwd: scratchDir('cwd') });
    expect(r.exitCode, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.contain('Public URL devices and WS1 use');
    const text = fs.readFileSync(path.join(home, 'scepter.env'), 'utf8');
    expect(text).to.contain('SCEPTER_PUBLIC_URL=https://tty.example.com');
    expect(text).to.contain('SCEPTER_CA_COMMON_NAME="TTY CA"');
    expect(text).to.not.contain('PASSPHRASE');
  });
});
