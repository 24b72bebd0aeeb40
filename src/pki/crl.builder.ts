import type { SigningKey } from './private-key';
import { readCertificateFields } from './certificate';
import { derExplicit, derExtension, derIntegerFromBigInt, derIntegerFromHex, derEnumerated, derSequence, derTime, tlv, tlvOf, TAG } from './der-writer';
import { OID } from './oids';
import { revocationReasonCode, type RevocationReason } from './revocation-reason';
import { sha256SignatureAlgorithm, signStructure } from './signed-structure';

export {
  REVOCATION_REASON_CODES,
  REVOCATION_REASON_NAMES,
  REVOCATION_REASONS,
  parseRevocationReason,
  revocationReasonCode,
  revocationReasonFromCode,
  type RevocationReason,
} from './revocation-reason';

export interface CrlEntry {
  /** Uppercase hex as `openssl x509 -serial` prints it (lowercase and colons are accepted too). */
  serialHex: string;
  revokedAt: Date;
  reason: RevocationReason;
}

export interface BuildCrlInput {
  issuerCertDer: Uint8Array;
  issuerKey: SigningKey;
  crlNumber: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: readonly CrlEntry[];
}

// crlEntryExtensions for each reason, built once: SEQUENCE { Extension reasonCode }.
const REASON_EXTENSIONS = new Map<RevocationReason, Buffer>();
function reasonExtensions(reason: RevocationReason): Buffer | undefined {
  // RFC 5280 5.3.1: the extension SHOULD be absent rather than say "unspecified".
  if (reason === 'unspecified') return undefined;
  let ext = REASON_EXTENSIONS.get(reason);
  if (!ext) {
    ext = derSequence(derExtension(OID.reasonCode, derEnumerated(revocationReasonCode(reason))));
    REASON_EXTENSIONS.set(reason, ext);
  }
  return ext;
}

/**
 * The revokedCertificates SEQUENCE OF, written directly into Buffers (about 40 bytes per entry);
 * building one pkijs object per entry is far too slow for 100,000 entries. Returns undefined for an
 * empty list because RFC 5280 5.1.2.6 wants the field absent, not empty.
 */
export function encodeRevokedCertificates(entries: readonly CrlEntry[]): Buffer | undefined {
  if (entries.length === 0) return undefined;
  // Revocations often share a second (bulk revocation); reuse the encoded time.
  let lastSecond = NaN;
  let lastTime: Buffer = Buffer.alloc(0);
  const parts = entries.map((e) => {
    const second = Math.floor(e.revokedAt.getTime() / 1000);
    if (second !== lastSecond) {
      if (!Number.isFinite(second)) throw new RangeError(`invalid revokedAt for serial ${e.serialHex}`);
      lastTime = derTime(e.revokedAt);
      lastSecond = second;
    }
    const ext = reasonExtensions(e.reason);
    const serial = derIntegerFromHex(e.serialHex);
    return ext ? derSequence(serial, lastTime, ext) : derSequence(serial, lastTime);
  });
  return tlvOf(TAG.sequence, parts);
}

/** RFC 5280 v2 CRL signed with SHA-256 by the issuer's key; returns DER. */
export async function buildCrl(input: BuildCrlInput): Promise<Buffer> {
  const { issuerKey, crlNumber, thisUpdate, nextUpdate, entries } = input;
  if (!(nextUpdate.getTime() > thisUpdate.getTime())) throw new RangeError('nextUpdate must be after thisUpdate');
  // RFC 5280 5.2.3: CRL numbers are at most 20 octets.
  if (crlNumber < 0n || crlNumber >= 1n << 159n) throw new RangeError('crlNumber out of range');
  const issuer = readCertificateFields(input.issuerCertDer);

  const crlExtensions = derExplicit(
    0,
    derSequence(
      // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING }
      derExtension(OID.authorityKeyIdentifier, derSequence(tlv(0x80, issuer.keyIdentifier))),
      derExtension(OID.cRLNumber, derIntegerFromBigInt(crlNumber)),
    ),
  );
  const revoked = encodeRevokedCertificates(entries);
  const tbs = derSequence(
    derIntegerFromBigInt(1n), // v2
    sha256SignatureAlgorithm(issuerKey),
    issuer.subjectDer,
    derTime(thisUpdate),
    derTime(nextUpdate),
    ...(revoked ? [revoked] : []),
    crlExtensions,
  );
  return signStructure(tbs, issuerKey);
}
