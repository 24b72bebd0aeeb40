import { CaGenerationRepository } from '../db/ca-generation.repository';
import { RevocationRepository } from '../db/revocation.repository';
import { crlPathOf, OCSP_PATH } from './publication-paths';
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import { loadOrCreateCa } from './ca-material';
import { CaGeneration, generationPrefix } from './ca-generation';
import { CaRolloverService } from './ca-rollover.service';
import { CertificateAuthority } from './certificate-authority';
import { CrlPublisher } from './crl-publisher';
import { openKeyStore } from './key-store';
import { LastExpiry } from './last-expiry';
import { OcspResponder } from './ocsp-responder';
import type { KeyStore } from './key-store';
import { RevocationService } from './revocation.service';
import { RevocationView } from './revocation-view';
import type { BuildContext } from '../shared/build-context';

export interface CaModuleDeps extends BuildContext {
  /** the CLI's `scepter init` and `scepter ca generate-keys`: missing keys may be generated inside a PKCS#11 token */
  generateTokenKeys?: boolean;
}

/**
 * The CA: its key store and generations, the authority that signs, and revocation (the service,
 * the in-memory view with one CRL publisher per generation, the OCSP responder for every
 * generation). On failure the key store it opened is closed again.
 */
export async function buildCaModule(d: CaModuleDeps) {
  const { config, db, clock, logger } = d;
  const keys = openKeyStore(config, { generate: d.generateTokenKeys });
  try {
    const material = await loadOrCreateCa({ dir: config.certsDir, keys, ...config.ca });
    const generations = new CaGenerationRepository(db);
    const caGenerations = new CaRolloverService(generations, clock, { dir: config.certsDir, keys, ...config.ca });
    const authority = new CertificateAuthority(await caGenerations.load(material), clock, {
      crlUrl: (generation) => `${config.http.publicUrl}${crlPathOf(generation)}`,
      ocspUrl: `${config.http.publicUrl}${OCSP_PATH}`,
    });
    const revocation = await buildRevocation(d, authority, generations, keys);
    const parts = { authority, caGenerations, ...revocation };
    return {
      ...parts,
      /** where the CA and RA keys live; close() releases its threads or token sessions */
      keys,
      caCreated: material.created,
      /** server only: polls for CA generations and RA renewals made elsewhere (see watchCaGenerations) */
      watchGenerations: (onCaSetChanged: () => void, onPoll: (now: Date) => Promise<void>) =>
        watchCaGenerations(parts, clock, logger, config.caPollSeconds, onCaSetChanged, onPoll),
    };
  } catch (err) {
    await keys.close();
    throw err;
  }
}

async function buildRevocation(
  { config, db, clock, logger }: CaModuleDeps,
  authority: CertificateAuthority,
  generations: CaGenerationRepository,
  keys: KeyStore,
) {
  const store = new RevocationRepository(db);
  const onError = (err: unknown) => logger.error({ err }, 'revocation state');
  const lastExpiry = new LastExpiry(generations, clock, onError);
  const revocationView = new RevocationView(store, [], clock, {
    pollMs: 500,
    // an older generation publishes its CRL until the last certificate it issued has expired
    publishes: (generation, now) => generation >= authority.current(now).generation || lastExpiry.covers(generation, now),
    onError,
  });
  let ocsp: OcspResponder | undefined;
  const publishGeneration = async (g: CaGeneration) => {
    const ca = g.material.ca;
    const signerOptions = {
      dir: config.certsDir,
      prefix: generationPrefix(g.generation),
      passphrase: config.ca.passphrase,
      commonName: /CN=([^,]+)/.exec(ca.certificate.subject)?.[1] ?? config.ca.commonName,
      validityDays: 30,
      keyType: config.ocspKeyType,
      renewBeforeDays: config.ocspRenewBeforeDays,
    };
    // the responder's key: in the token beside a token CA key, else a key file
    const loadSigner = keys.ocspSigner(ca, signerOptions, g.keyUri);
    const signer = config.ocspDelegated ? await loadSigner(clock.now()) : ca;
    const extra = [g.material.raSigning, g.material.raEncryption, ...(g.material.previousRaEncryption ?? []), ...(config.ocspDelegated ? [signer] : [])];
    revocationView.addPublisher(
      new CrlPublisher(store, ca, clock, config.crlValidityHours * 3_600_000, g.generation),
      extra.flatMap((i) => (i ? [i.certificate.serialHex] : [])),
    );
    const issuer = {
      generation: g.generation,
      ca,
      signer,
      delegated: config.ocspDelegated,
      renewSigner: config.ocspDelegated ? loadSigner : undefined,
    };
    if (!ocsp)
      ocsp = new OcspResponder(ca, revocationView, clock, {
        ...issuer,
        maxStaleMs: 60_000,
        maxRequests: 20,
        presignedMaxAgeMs: 60_000,
        renewBeforeMs: config.ocspRenewBeforeDays * 86_400_000,
        onRenewed: (generation, s) => revocationView.addIssued(s.certificate.serialHex, generation),
        onError: (err) => logger.error({ err }, 'ocsp responder'),
      });
    else ocsp.addIssuer(issuer);
  };
  for (const g of authority.all) await publishGeneration(g);
  // after each committed revocation in this process: republish and refresh now, not at the next poll
  const revocation = new RevocationService(store, clock, () => revocationView.sync().catch(onError));
  return {
    revocation,
    revocationView,
    ocsp: ocsp!,
    /** starts publishing the CRL and answering OCSP for a generation added after start */
    publishGeneration,
  };
}

export type CaModule = Awaited<ReturnType<typeof buildCaModule>>;

/**
 * Picks up, without a restart, a CA generation another process created (`scepter ca rollover`) or
 * rescheduled, and renews RA pairs that come due (or adopts another instance's renewal) every
 * `pollSeconds`; `onCaSetChanged` refreshes what caches the CA set (the TLS listener's list of
 * acceptable client CAs); `onPoll` runs after each poll (the listener's certificate follows the CA
 * issuing now).
 */
function watchCaGenerations(
  ca: { authority: CertificateAuthority; caGenerations: CaRolloverService; publishGeneration(g: CaGeneration): Promise<void>; revocationView: RevocationView },
  clock: Clock,
  logger: Logger,
  pollSeconds: number,
  onCaSetChanged: () => void,
  onPoll: (now: Date) => Promise<void>,
): { stop(): void } {
  const { authority, caGenerations } = ca;
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const known = authority.all[authority.all.length - 1]!.generation;
      const added = await caGenerations.loadNewer(known);
      for (const g of added) {
        authority.addGeneration(g);
        await ca.publishGeneration(g);
        logger.info({ generation: g.generation, activateAt: g.activateAt.toISOString() }, 'ca: next CA generation loaded');
      }
      if (added.length) onCaSetChanged();
      for (const [generation, at] of await caGenerations.activationTimes()) authority.reschedule(generation, at);
      // an RA pair due for renewal, or renewed by another instance: every instance decrypts with the new pair within one poll
      const now = clock.now();
      for (const g of authority.all) {
        if (!(await caGenerations.refreshRa(g, now))) continue;
        authority.replaceMaterial(g.generation, g.material);
        for (const id of [g.material.raSigning, g.material.raEncryption]) if (id) ca.revocationView.addIssued(id.certificate.serialHex, g.generation);
        logger.info({ generation: g.generation, raEncryption: g.material.raEncryption?.certificate.serialHex }, 'ca: RA certificates renewed');
      }
      await onPoll(now);
    } catch (err) {
      logger.error({ err }, 'ca: checking CA generations');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), pollSeconds * 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
