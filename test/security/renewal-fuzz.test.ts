import { expect } from 'chai';
import fc from 'fast-check';
import { KeyObject } from 'node:crypto';
import { ParsedCertificate } from '../../src/pki/certificate';
import { CaCertificates, PreparedRequest } from '../../src/scep/client/scep-client';
import { FailInfo, MessageType, PkiStatus } from '../../src/scep/scep.types';
import { pooledKeys } from '../support/keys';
import { startTestServer, TestServer, TEST_CHALLENGE } from '../support/test-server';
import { TEST_ACTOR } from '../integration/integrations-support';

const SEED = Number(process.env.FUZZ_SEED ?? 20261204);
const RUNS = Number(process.env.FUZZ_RENEWAL_RUNS ?? 25);

type Action =
  | { kind: 'renew'; pick: number; key: number; type: MessageType }
  | { kind: 'resend' }
  | { kind: 'other-subject'; pick: number; key: number }
  | { kind: 'same-tid-other-key'; key: number }
  | { kind: 'revoke'; pick: number };

const KEYS = 4;
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('renew' as const),
      pick: fc.nat(20),
      key: fc.nat(KEYS - 1),
      type: fc.constantFrom(MessageType.RenewalReq, MessageType.PKCSReq),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'resend' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('other-subject' as const), pick: fc.nat(20), key: fc.nat(KEYS - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('same-tid-other-key' as const), key: fc.nat(KEYS - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('revoke' as const), pick: fc.nat(20) }) },
);

interface Known {
  certificate: ParsedCertificate;
  key: KeyObject;
  status: 'valid' | 'superseded' | 'revoked';
}

/**
 * Random sequences of renewals against the real server, with a model of what each must do: renew
 * the current certificate (RenewalReq or certmonger-style PKCSReq), resend the last renewal, renew a
 * superseded or revoked one, renew into another subject, reuse a transactionID with another key,
 * revoke. Invariants: every certificate has at most one successor, a successor keeps the exact
 * subject, at most one certificate of a lineage is valid, and every answer is the one the model
 * expects. FUZZ_SEED replays a run; FUZZ_RENEWAL_RUNS sets the number of sequences.
 */
describe(`fuzz: renewal sequences (${RUNS} sequences, seed ${SEED})`, function () {
  this.timeout(600_000);
  let server: TestServer;
  let cas: CaCertificates;
  let keys: KeyObject[];

  before(async () => {
    // every certificate is inside its renewal window from the start
    server = await startTestServer({ SCEPTER_CERT_VALIDITY_DAYS: '10', SCEPTER_RENEWAL_WINDOW_DAYS: '14' });
    cas = await server.client.getCaCertificates();
    keys = await pooledKeys(KEYS);
  });
  after(async () => server?.destroy());

  it('at most one valid successor per certificate, subject unchanged, outcomes as modelled', async () => {
    let run = 0;
    let renewals = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 10 }), async (actions) => {
        const cn = `fz-${++run}`;
        const subject = [
          { type: 'O', value: 'Fuzz' },
          { type: 'CN', value: cn },
        ];
        const root = await server.client.enroll({ cas, subject, challenge: TEST_CHALLENGE, key: keys[0], transactionId: `${cn}-root` });
        expect(root.status).to.equal(PkiStatus.SUCCESS);
        const certs: Known[] = [{ certificate: root.certificate!, key: keys[0]!, status: 'valid' }];
        const successors = new Map<string, Set<string>>();
        let last: { req: PreparedRequest; serial: string } | undefined;
        let n = 0;

        for (const a of actions) {
          const tid = `${cn}-${++n}`;
          if (a.kind === 'revoke') {
            const c = certs[a.pick % certs.length]!;
            await server.app.services.revocation.revoke(c.certificate.serialHex, { actor: TEST_ACTOR });
            c.status = 'revoked';
          } else if (a.kind === 'resend') {
            if (!last) continue;
            const again = await server.client.submit(last.req);
            expect(again.status, `resend: ${again.failText}`).to.equal(PkiStatus.SUCCESS);
            expect(again.certificate!.serialHex).to.equal(last.serial);
          } else if (a.kind === 'same-tid-other-key') {
            if (!last) continue;
            const parent = certs.find((c) => c.certificate.serialHex === successorsParent(successors, last!.serial))!;
            const r = await server.client.enroll({
              cas,
              subject,
              key: keys[a.key],
              messageType: MessageType.RenewalReq,
              signer: parent,
              transactionId: last.req.transactionId,
            });
            if (keys[a.key] === last.req.requester.key || r.status === PkiStatus.SUCCESS) {
              // the same key under the same transactionID is the resend above
              if (r.status === PkiStatus.SUCCESS) expect(r.certificate!.serialHex).to.equal(last.serial);
            } else expect(r.status).to.equal(PkiStatus.FAILURE);
          } else {
            const parent = certs[a.pick % certs.length]!;
            const otherSubject = a.kind === 'other-subject';
            const type = a.kind === 'renew' ? a.type : MessageType.RenewalReq;
            const req = await server.client.preparePkcsReq({
              cas,
              subject: otherSubject
                ? [
                    { type: 'O', value: 'Scepter' },
                    { type: 'CN', value: 'Scepter Device CA' },
                  ]
                : subject,
              key: keys[a.key],
              messageType: type,
              signer: parent,
              transactionId: tid,
            });
            const r = await server.client.submit(req);
            const expectSuccess = !otherSubject && parent.status === 'valid';
            expect(r.status, `${a.kind} of a ${parent.status} certificate: ${r.failText}`).to.equal(expectSuccess ? PkiStatus.SUCCESS : PkiStatus.FAILURE);
            if (!expectSuccess) {
              expect(r.failInfo).to.be.oneOf([FailInfo.badCertId, FailInfo.badRequest]);
              continue;
            }
            renewals++;
            const child = r.certificate!;
            expect(child.subjectDer.equals(parent.certificate.subjectDer), 'subject unchanged').to.equal(true);
            const set = successors.get(parent.certificate.serialHex) ?? new Set<string>();
            set.add(child.serialHex);
            successors.set(parent.certificate.serialHex, set);
            parent.status = 'superseded';
            certs.push({ certificate: child, key: keys[a.key]!, status: 'valid' });
            last = { req, serial: child.serialHex };
          }
        }

        for (const [parent, set] of successors) expect(set.size, `successors of ${parent}`).to.equal(1);
        const rows: { serial: string; status: string }[] = await server.app.services.db.manager.query(
          'SELECT serial, status FROM certificates WHERE subject = ? ORDER BY id',
          [`CN=${cn},O=Fuzz`],
        );
        expect(rows.map((r) => r.serial)).to.deep.equal(certs.map((c) => c.certificate.serialHex));
        expect(rows.filter((r) => r.status === 'valid').length).to.be.at.most(1);
        expect(rows.map((r) => r.status)).to.deep.equal(certs.map((c) => c.status));
        const lineage: { renewed_from: string | null }[] = await server.app.services.db.manager.query(
          'SELECT renewed_from FROM certificates WHERE subject = ?',
          [`CN=${cn},O=Fuzz`],
        );
        const parents = lineage.map((r) => r.renewed_from).filter((p): p is string => p !== null);
        expect(new Set(parents).size).to.equal(parents.length);
      }),
      { numRuns: RUNS, seed: SEED },
    );
    expect(renewals, 'renewals that succeeded').to.be.greaterThan(RUNS / 2);
  });
});

function successorsParent(successors: Map<string, Set<string>>, child: string): string | undefined {
  for (const [parent, set] of successors) if (set.has(child)) return parent;
  return undefined;
}
