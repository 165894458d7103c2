import { describe, expect, it } from 'vitest';
import { describeDatabase } from '../../src/db/describe-database.js';

describe('describeDatabase: the start-up line and /health/status field', () => {
  it('names a PostgreSQL server by user, host, port and database, never the password', () => {
    const d = describeDatabase({
      url: 'postgres://tasker:s3cret-pw@db.internal:6432/app?sslmode=require',
      dataDir: null,
      schema: 'tasker',
    });
    expect(d).toMatchObject({
      kind: 'postgres',
      host: 'db.internal',
      port: 6432,
      database: 'app',
      user: 'tasker',
    });
    expect(d.text).toBe('PostgreSQL tasker@db.internal:6432/app, schema tasker');
    expect(JSON.stringify(d)).not.toContain('s3cret');
  });

  it('defaults the port, reads a socket directory from ?host=, and survives a key=value string', () => {
    expect(
      describeDatabase({ url: 'postgresql:///app?host=/var/run/postgresql', dataDir: null, schema: 's' })
        .text,
    ).toBe('PostgreSQL /var/run/postgresql:5432/app, schema s');
    const kv = describeDatabase({ url: 'host=db password=hunter2 dbname=app', dataDir: null, schema: 's' });
    expect(kv.text).toBe('PostgreSQL (connection string), schema s');
    expect(JSON.stringify(kv)).not.toContain('hunter2');
  });

  it('names the data directory and how this process reaches it', () => {
    const location = { url: null, dataDir: '/srv/app/.tasker', schema: 'tasker' };
    expect(describeDatabase(location).text).toBe('embedded PGlite in /srv/app/.tasker, schema tasker');
    expect(describeDatabase(location, { role: 'owner', socket: '/srv/app/.tasker/.s.PGSQL.5432' }).text).toBe(
      'embedded PGlite in /srv/app/.tasker (owned by this process, shared with others), schema tasker',
    );
    expect(
      describeDatabase(location, {
        role: 'client',
        socket: '/srv/app/.tasker/.s.PGSQL.5432',
        ownerPid: 4242,
        ownerCommand: 'tasker serve',
      }).text,
    ).toBe('embedded PGlite in /srv/app/.tasker (shared: owned by pid 4242, tasker serve), schema tasker');
    expect(describeDatabase({ url: null, dataDir: null, schema: 'x' }).text).toBe(
      'embedded PGlite in memory, schema x',
    );
  });
});
