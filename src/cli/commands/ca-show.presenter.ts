import path from 'node:path';
import type { CertificateAuthority } from '../../ca/certificate-authority';
import { generationPrefix, LINK_FILES, type CaGeneration } from '../../ca/ca-generation';
import type { ParsedCertificate } from '../../pki/certificate';
import type { Config } from '../../config/config';
import { crlPathOf } from '../../ca/publication-paths';
import { cliText } from '../../shared/terminal-text';

interface CertView {
  subject: string;
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  sha256: string;
}

export interface GenerationView extends CertView {
  generation: number;
  /** current: issuing now; next: scheduled; previous: an older CA still publishing for what it issued */
  state: 'current' | 'next' | 'previous';
  activateAt: string;
  certificateFile: string;
  /** the pkcs11: URI of this generation's CA key in a token; null: a key file beside the certificate */
  keyUri: string | null;
  crlUrl: string;
  ra: { signing: CertView; encryption: CertView; previousEncryption: CertView[] } | null;
  links: { newWithOld: CertView & { file: string }; oldWithNew: CertView & { file: string } } | null;
}

export interface CaGenerationsView extends CertView {
  ra: boolean;
  generations: GenerationView[];
}

function certView(c: ParsedCertificate): CertView {
  return {
    subject: c.subject,
    issuer: c.issuer,
    serial: c.serialHex,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    sha256: c.fingerprintSha256.toUpperCase(),
  };
}

/** `scepter ca show`: the current CA at the top level (as before rollovers existed), every generation below. */
export function caGenerationsView(authority: CertificateAuthority, config: Config): CaGenerationsView {
  const current = authority.current();
  const next = authority.next();
  const generations = authority.all.map((g: CaGeneration): GenerationView => {
    const m = g.material;
    const file = (f: string) => path.join(config.certsDir, `${generationPrefix(g.generation)}${f}`);
    return {
      generation: g.generation,
      state: g === current ? 'current' : g === next || g.generation > current.generation ? 'next' : 'previous',
      activateAt: g.activateAt.toISOString(),
      ...certView(m.ca.certificate),
      certificateFile: file('ca.cert.pem'),
      keyUri: g.keyUri ?? (g.generation === 1 ? (config.pkcs11?.keys.ca.uri.text ?? null) : null),
      crlUrl: `${config.http.publicUrl}${crlPathOf(g.generation)}`,
      ra:
        m.raSigning && m.raEncryption
          ? {
              signing: certView(m.raSigning.certificate),
              encryption: certView(m.raEncryption.certificate),
              previousEncryption: (m.previousRaEncryption ?? []).map((p) => certView(p.certificate)),
            }
          : null,
      links:
        g.newWithOld && g.oldWithNew
          ? {
              newWithOld: { ...certView(g.newWithOld), file: file(LINK_FILES.newWithOld) },
              oldWithNew: { ...certView(g.oldWithNew), file: file(LINK_FILES.oldWithNew) },
            }
          : null,
    };
  });
  return { ...certView(current.material.ca.certificate), ra: Boolean(current.material.raSigning), generations };
}

export function generationsText(v: CaGenerationsView): string {
  const fp = (h: string) => h.match(/../g)!.join(':');
  return v.generations
    .map((g) => {
      const lines = [
        cliText`Generation ${String(g.generation)} (${g.state})`,
        cliText`  Subject:      ${g.subject}`,
        cliText`  Serial:       ${g.serial}`,
        cliText`  Valid:        ${g.notBefore} .. ${g.notAfter}`,
        cliText`  SHA-256:      ${fp(g.sha256)}`,
        cliText`  Activation:   ${g.generation === 1 ? 'first CA' : g.activateAt}`,
        cliText`  Certificate:  ${g.certificateFile}`,
        ...(g.keyUri ? [cliText`  Key:          ${g.keyUri}`] : []),
        cliText`  CRL:          ${g.crlUrl}`,
        cliText`  RA pair:      ${g.ra ? `signing ${g.ra.signing.serial} until ${g.ra.signing.notAfter}, encryption ${g.ra.encryption.serial} until ${g.ra.encryption.notAfter}` : 'no'}`,
      ];
      for (const p of g.ra?.previousEncryption ?? []) lines.push(cliText`  RA previous:  encryption ${p.serial} (still decrypts until ${p.notAfter})`);
      if (g.links) {
        lines.push(cliText`  NewWithOld:   ${g.links.newWithOld.file} (SHA-256 ${fp(g.links.newWithOld.sha256)})`);
        lines.push(cliText`  OldWithNew:   ${g.links.oldWithNew.file} (SHA-256 ${fp(g.links.oldWithNew.sha256)})`);
      }
      return lines.join('\n');
    })
    .join('\n\n');
}
