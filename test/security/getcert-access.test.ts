import { expect } from 'chai';
import { KeyObject } from 'node:crypto';
import * as pkijs from 'pkijs';
import { CaCertificates, ScepClient } from '../../src/scep/client/scep-client';
import { FailInfo, PkiStatus } from '../../src/scep/scep.types';
import { pooledKeys } from '../support/keys';
import { ATTR, RawReply, selfSigned, sendGetCert, sendRawPkcsReq, Signer, utf8Name } from '../support/raw-scep';
import { TEST_CHALLENGE } from '../support/test-server';
import { createIosCerts, fetchChallenge, IntegrationServer, startIntegrationServer, TEST_ACTOR } from '../integration/integrations-support';

/**
 * Threat: anyone harvests issued certificates (UDIDs included) by sending GetCert with serial
 * numbers taken from the public CRL, across endpoints, or from a deleted integration. GetCert must
 * answer only a requester signing with a valid certificate the endpoint issued, and only with that
 * holder's certificates of that endpoint; everything else is a signed FAILURE without a certificate.
 */
describe("security: GetCert serves only the endpoint's own certificates to their holders", function () {
  this.timeout(120_000);
  let server: IntegrationServer;
  let cas: CaCertificates;
  let keys: KeyObject[];
  let integ: Awaited<ReturnType<typeof createIosCerts>>;
  let n = 0;
  const scep = () => `${server.url}/scep`;
  const integScep = (id = integ.id) => `${server.url}/scep/${id}`;

  /** Enrolls and returns the holder (certificate + key) for signing GetCert. */
  const enrollDefault = async (cn: string, key: KeyObject): Promise<Signer> => {
    const r = await sendRawPkcsReq(scep(), cas, utf8Name([ATTR.CN, cn]), key, TEST_CHALLENGE, `gc-${++n}`);
    expect(r.status, r.failText).to.equal(PkiStatus.SUCCESS);
    return { certificate: r.certificates[0]!, key };
  };
  const enrollIntegration = async (i: Awaited<ReturnType<typeof createIosCerts>>, udid: string, key: KeyObject): Promise<Signer> => {
    const r = await sendRawPkcsReq(integScep(i.id), cas, utf8Name([ATTR.OU, i.id], [ATTR.CN, udid]), key, await fetchChallenge(server, i), `gc-${++n}`);
    expect(r.status, r.failText).to.equal(PkiStatus.SUCCESS);
    return { certificate: r.certificates[0]!, key };
  };
  const getCert = (url: string, signer: Signer, serial: string): Promise<RawReply> => sendGetCert(url, cas, signer, serial, `getcert-${++n}`);
  const refusedWith = (r: RawReply, failInfo: FailInfo) => {
    expect([r.httpStatus, r.status, r.failInfo]).to.deep.equal([200, PkiStatus.FAILURE, failInfo]);
    expect(r.certificates).to.deep.equal([]);
  };

  let alice: Signer;
  let bob: Signer;
  let device: Signer;

  before(async () => {
    // the default endpoint (static challenge) and integrations on one server
    server = await startIntegrationServer({ SCEPTER_STATIC_CHALLENGE: TEST_CHALLENGE });
    cas = await new ScepClient(`${server.url}/scep`).getCaCertificates();
    keys = await pooledKeys(6);
    integ = await createIosCerts(server, 'getcert');
    alice = await enrollDefault('alice-laptop', keys[0]!);
    bob = await enrollDefault('bob-laptop', keys[1]!);
    device = await enrollIntegration(integ, '00008030-001A35E83C38802E', keys[2]!);
  });
  after(async () => server.destroy());

  it('refuses harvesting: serials from the CRL sent to /scep with a self-signed signer get no certificate', async () => {
    const victim = await enrollDefault('victim', keys[3]!);
    const victimDevice = await enrollIntegration(integ, '00008030-00AA00000000002E', keys[3]!);
    for (const s of [victim, victimDevice])
      await server.app.services.revocation.revoke(s.certificate.serialHex, { reason: 'keyCompromise', actor: TEST_ACTOR });
    const res = await fetch(`${server.url}/crl/ca.crl`);
    const crl = pkijs.CertificateRevocationList.fromBER(await res.arrayBuffer());
    const serials = (crl.revokedCertificates ?? []).map((r) =>
      Buffer.from(r.userCertificate.valueBlock.valueHexView)
        .toString('hex')
        .replace(/^(00)+/, '')
        .toUpperCase(),
    );
    expect(serials).to.include.members([victim.certificate.serialHex, victimDevice.certificate.serialHex]);
    const harvester = await selfSigned(keys[5]!, 'harvester');
    for (const serial of [...serials, alice.certificate.serialHex, device.certificate.serialHex]) {
      refusedWith(await getCert(scep(), harvester, serial), FailInfo.badRequest);
    }
    // nor on the integration's endpoint
    refusedWith(await getCert(integScep(), harvester, device.certificate.serialHex), FailInfo.badRequest);
  });

  it('the legitimate holder gets its own certificate, on its own endpoint', async () => {
    const own = await getCert(scep(), alice, alice.certificate.serialHex);
    expect(own.status, own.failText).to.equal(PkiStatus.SUCCESS);
    expect(own.certificates[0]!.der.equals(alice.certificate.der)).to.equal(true);
    const dev = await getCert(integScep(), device, device.certificate.serialHex);
    expect(dev.status, dev.failText).to.equal(PkiStatus.SUCCESS);
    expect(dev.certificates[0]!.der.equals(device.certificate.der)).to.equal(true);
  });

  it("a holder gets no other holder's certificate (badCertId, same answer as an unknown serial)", async () => {
    const other = await getCert(scep(), alice, bob.certificate.serialHex);
    refusedWith(other, FailInfo.badCertId);
    const unknown = await getCert(scep(), alice, '0102030405');
    refusedWith(unknown, FailInfo.badCertId);
    expect(other.failText).to.equal(unknown.failText);
  });

  it('refuses across endpoints: an integration certificate on /scep, a /scep certificate on an integration', async () => {
    refusedWith(await getCert(scep(), device, device.certificate.serialHex), FailInfo.badRequest);
    refusedWith(await getCert(integScep(), alice, alice.certificate.serialHex), FailInfo.badRequest);
    // a valid requester of /scep asking /scep for an integration's certificate
    refusedWith(await getCert(scep(), alice, device.certificate.serialHex), FailInfo.badCertId);
    // and another integration's device cannot read this one's
    const second = await createIosCerts(server, 'getcert-second');
    const stranger = await enrollIntegration(second, '00008030-00BB00000000002E', keys[4]!);
    refusedWith(await getCert(integScep(second.id), stranger, device.certificate.serialHex), FailInfo.badCertId);
    refusedWith(await getCert(integScep(), stranger, device.certificate.serialHex), FailInfo.badRequest);
  });

  it("never serves a deleted integration's certificates", async () => {
    const doomed = await createIosCerts(server, 'getcert-deleted');
    const holder = await enrollIntegration(doomed, '00008030-00CC00000000002E', keys[4]!);
    expect((await getCert(integScep(doomed.id), holder, holder.certificate.serialHex)).status).to.equal(PkiStatus.SUCCESS);
    await server.app.services.integrationDeletion.delete(doomed.id, { actor: TEST_ACTOR, force: true });
    expect((await getCert(integScep(doomed.id), holder, holder.certificate.serialHex)).httpStatus).to.equal(404);
    refusedWith(await getCert(scep(), holder, holder.certificate.serialHex), FailInfo.badRequest);
    refusedWith(await getCert(scep(), alice, holder.certificate.serialHex), FailInfo.badCertId);
  });

  it('refuses a requester whose certificate is revoked', async () => {
    const gone = await enrollDefault('revoked-holder', keys[4]!);
    await server.app.services.revocation.revoke(gone.certificate.serialHex, { reason: 'superseded', actor: TEST_ACTOR });
    refusedWith(await getCert(scep(), gone, gone.certificate.serialHex), FailInfo.badRequest);
  });
});
