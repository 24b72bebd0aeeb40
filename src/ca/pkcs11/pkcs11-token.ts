import { MAX_SECRET_FILE_BYTES, readBoundedText } from '../../shared/bounded-file';
import fs from 'node:fs';
import { createHash, createPublicKey, KeyObject } from 'node:crypto';
import type * as Pkcs11Types from 'pkcs11js';
import { ConfigError } from '../../shared/errors';
import { checkSecretsPrivate } from '../../config/strict-settings';
import type { Pkcs11Uri } from '../../config/pkcs11-uri';
import type { NamedUri, Pkcs11Config } from '../../config/pkcs11-settings';

type Pkcs11Module = typeof Pkcs11Types;
type Handle = Buffer;

type Pkcs11Settings = Pick<Pkcs11Config, 'module' | 'pinFile' | 'sessions'>;

/** What a key in the token is for: each role gets only the usages it needs. */
export type KeyUsageFlags = { sign: boolean; decrypt: boolean };

/**
 * One PKCS#11 token, logged in: a pool of sessions (a session runs one operation at a time, so
 * concurrent signatures and decryptions each take one), key lookup, key generation inside the
 * token, and a one-time import of a key file. Operations run through pkcs11js' asynchronous calls,
 * which execute the module's C_Sign/C_Decrypt on libuv's thread pool: the event loop stays free
 * and several operations run at once, as far as the token allows.
 */
export class Pkcs11Token {
  /** key object handles by URI; a module may hand out new ones after a new login */
  private readonly handles = new Map<string, Handle>();
  private free: Handle[] = [];
  private waiting: { resolve(s: Handle): void; reject(e: Error): void }[] = [];
  private all: Handle[] = [];
  /** bumped each time the sessions are opened anew: a failure on an older session does not reopen again */
  private generation = 0;
  private reopening?: Promise<void>;
  private closed = false;

  private constructor(
    private readonly lib: Pkcs11Module,
    private readonly p11: Pkcs11Types.PKCS11,
    readonly label: string,
    private readonly modulePath: string,
    private readonly slot: Handle,
    private readonly sessions: number,
    /** kept for logging in again when the token lost its sessions (an HSM restarted, a network link dropped) */
    private readonly pin: string,
  ) {}

  /** Loads the module, finds the token `named.uri` names, logs in with the PIN file and opens the sessions. */
  static open(settings: Pkcs11Settings, named: NamedUri): Pkcs11Token {
    const pin = readPin(settings.pinFile);
    let lib: Pkcs11Module;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      lib = require('pkcs11js') as Pkcs11Module;
    } catch (err) {
      throw new ConfigError(named.variable, `the pkcs11js module cannot be loaded (${(err as Error).message.split('\n')[0]}): run npm ci`);
    }
    if (!fs.existsSync(settings.module))
      throw new ConfigError('SCEPTER_PKCS11_MODULE', `${settings.module} does not exist (the vendor's PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so)`);
    const p11 = acquireModule(lib, settings.module);
    try {
      const slot = findSlot(lib, p11, named);
      const info = p11.C_GetTokenInfo(slot);
      const label = info.label.trim();
      const token = new Pkcs11Token(lib, p11, label, settings.module, slot, settings.sessions, pin);
      try {
        token.openSessions();
      } catch (err) {
        const code = (err as { code?: number }).code;
        if (code === lib.CKR_PIN_INCORRECT)
          throw new ConfigError('SCEPTER_PKCS11_PIN_FILE', `token "${label}" refused the PIN in ${settings.pinFile} (CKR_PIN_INCORRECT)`);
        if (code === lib.CKR_PIN_LOCKED)
          throw new ConfigError('SCEPTER_PKCS11_PIN_FILE', `token "${label}" has locked its user PIN (CKR_PIN_LOCKED): the security officer must unlock it`);
        throw new ConfigError(named.variable, `token "${label}": cannot open a session and log in (${errorText(err)})`);
      }
      return token;
    } catch (err) {
      releaseModule(settings.module);
      throw err;
    }
  }

  /** The private key `named.uri` names, or undefined when the token has none. Two matches are an error. */
  findKey(named: NamedUri): Handle | undefined {
    return this.withSessionSync((s) => {
      const found = this.find(s, { class: this.lib.CKO_PRIVATE_KEY, ...named.uri });
      if (found.length > 1)
        throw new ConfigError(named.variable, `${named.uri.text} matches ${found.length} private keys in token "${this.label}": add id= to tell them apart`);
      return found[0];
    });
  }

  /** The public key of RSA private key `key` (its modulus and exponent, which the private object carries). */
  publicKeyOf(key: Handle, named: NamedUri): KeyObject {
    return this.withSessionSync((s) => {
      const [type, n, e] = this.p11.C_GetAttributeValue(s, key, [
        { type: this.lib.CKA_KEY_TYPE },
        { type: this.lib.CKA_MODULUS },
        { type: this.lib.CKA_PUBLIC_EXPONENT },
      ]);
      if (ulong(type!.value) !== this.lib.CKK_RSA) throw new ConfigError(named.variable, `${named.uri.text} is not an RSA key`);
      return createPublicKey({ key: { kty: 'RSA', n: b64u(n!.value), e: b64u(e!.value) }, format: 'jwk' });
    });
  }

  /** Generates an RSA key pair inside the token: sensitive, never extractable, labelled and identified as `named.uri` says. */
  async generateRsa(named: NamedUri, bits: number, usage: KeyUsageFlags): Promise<Handle> {
    const l = this.lib;
    const label = named.uri.object ?? 'scepter';
    return this.withSession(async (s) => {
      const id = named.uri.id ?? createHash('sha1').update(`${label}:${Date.now()}:${Math.random()}`).digest();
      const common = [
        { type: l.CKA_TOKEN, value: true },
        { type: l.CKA_LABEL, value: label },
        { type: l.CKA_ID, value: id },
      ];
      const keys = await this.p11.C_GenerateKeyPairAsync(
        s,
        { mechanism: l.CKM_RSA_PKCS_KEY_PAIR_GEN },
        [
          ...common,
          { type: l.CKA_MODULUS_BITS, value: bits },
          { type: l.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
          { type: l.CKA_VERIFY, value: usage.sign },
          { type: l.CKA_ENCRYPT, value: usage.decrypt },
        ],
        [
          ...common,
          { type: l.CKA_PRIVATE, value: true },
          { type: l.CKA_SENSITIVE, value: true },
          { type: l.CKA_EXTRACTABLE, value: false },
          { type: l.CKA_SIGN, value: usage.sign },
          { type: l.CKA_DECRYPT, value: usage.decrypt },
        ],
      );
      return keys.privateKey;
    });
  }

  /**
   * Gives every object (private and public key) that `from` names the label `to.label` and, when set,
   * the id `to.id`; returns how many objects changed. Cached handles stay valid (the objects are the same).
   */
  relabel(from: Pick<Pkcs11Uri, 'object' | 'id'>, to: { label: string; id?: Buffer }): Promise<number> {
    const l = this.lib;
    return this.withSession(async (s) => {
      const objects = [...this.find(s, { class: l.CKO_PRIVATE_KEY, ...from }), ...this.find(s, { class: l.CKO_PUBLIC_KEY, ...from })];
      for (const o of objects)
        this.p11.C_SetAttributeValue(s, o, [{ type: l.CKA_LABEL, value: to.label }, ...(to.id ? [{ type: l.CKA_ID, value: to.id }] : [])]);
      return objects.length;
    });
  }

  /** Destroys every private and public key object `uri` names; returns how many. */
  destroyKeys(uri: Pick<Pkcs11Uri, 'object' | 'id'>): Promise<number> {
    const l = this.lib;
    return this.withSession(async (s) => {
      const objects = [...this.find(s, { class: l.CKO_PRIVATE_KEY, ...uri }), ...this.find(s, { class: l.CKO_PUBLIC_KEY, ...uri })];
      for (const o of objects) this.p11.C_DestroyObject(s, o);
      this.handles.clear();
      return objects.length;
    });
  }

  /** Drops the cached handle of `uri`: the next operation finds the object again (after a relabel elsewhere). */
  forget(uri: Pkcs11Uri): void {
    this.handles.delete(uri.text);
  }

  /** Copies an RSA key from memory into the token (sensitive, not extractable from then on), with its public half. */
  importRsa(named: NamedUri, key: KeyObject, usage: KeyUsageFlags): Handle {
    const l = this.lib;
    const jwk = key.export({ format: 'jwk' });
    const b = (v: string | undefined) => Buffer.from(v ?? '', 'base64url');
    const label = named.uri.object ?? 'scepter';
    const id = named.uri.id ?? createHash('sha1').update(b(jwk.n)).digest();
    const common = [
      { type: l.CKA_TOKEN, value: true },
      { type: l.CKA_KEY_TYPE, value: l.CKK_RSA },
      { type: l.CKA_LABEL, value: label },
      { type: l.CKA_ID, value: id },
      { type: l.CKA_MODULUS, value: b(jwk.n) },
      { type: l.CKA_PUBLIC_EXPONENT, value: b(jwk.e) },
    ];
    return this.withSessionSync((s) => {
      this.p11.C_CreateObject(s, [
        ...common,
        { type: l.CKA_CLASS, value: l.CKO_PUBLIC_KEY },
        { type: l.CKA_VERIFY, value: usage.sign },
        { type: l.CKA_ENCRYPT, value: usage.decrypt },
      ]);
      return this.p11.C_CreateObject(s, [
        ...common,
        { type: l.CKA_CLASS, value: l.CKO_PRIVATE_KEY },
        { type: l.CKA_PRIVATE, value: true },
        { type: l.CKA_SENSITIVE, value: true },
        { type: l.CKA_EXTRACTABLE, value: false },
        { type: l.CKA_SIGN, value: usage.sign },
        { type: l.CKA_DECRYPT, value: usage.decrypt },
        { type: l.CKA_PRIVATE_EXPONENT, value: b(jwk.d) },
        { type: l.CKA_PRIME_1, value: b(jwk.p) },
        { type: l.CKA_PRIME_2, value: b(jwk.q) },
        { type: l.CKA_EXPONENT_1, value: b(jwk.dp) },
        { type: l.CKA_EXPONENT_2, value: b(jwk.dq) },
        { type: l.CKA_COEFFICIENT, value: b(jwk.qi) },
      ]);
    });
  }

  /** One signature: C_SignInit + C_Sign on a free session, the signing itself on libuv's thread pool. */
  sign(key: NamedUri, mechanism: number, data: Uint8Array, maxLength: number): Promise<Buffer> {
    return this.withSession(async (s) => {
      this.p11.C_SignInit(s, { mechanism }, this.handleOf(key, s));
      return this.p11.C_SignAsync(s, Buffer.from(data.buffer, data.byteOffset, data.byteLength), Buffer.alloc(maxLength));
    });
  }

  /** Raw RSA (CKM_RSA_X_509) private operation; the result is left-padded to the modulus length. */
  async decryptRaw(key: NamedUri, data: Uint8Array, modulusLength: number): Promise<Buffer> {
    const out = await this.withSession(async (s) => {
      this.p11.C_DecryptInit(s, { mechanism: this.lib.CKM_RSA_X_509 }, this.handleOf(key, s));
      return this.p11.C_DecryptAsync(s, Buffer.from(data.buffer, data.byteOffset, data.byteLength), Buffer.alloc(modulusLength));
    });
    // some modules drop the leading zero bytes of the result; the unpadding wants all k bytes
    if (out.length === modulusLength) return out;
    const full = Buffer.alloc(modulusLength);
    out.copy(full, modulusLength - out.length);
    return full;
  }

  get mechanisms(): { sha1: number; sha256: number; sha384: number; sha512: number } {
    const l = this.lib;
    return { sha1: l.CKM_SHA1_RSA_PKCS, sha256: l.CKM_SHA256_RSA_PKCS, sha384: l.CKM_SHA384_RSA_PKCS, sha512: l.CKM_SHA512_RSA_PKCS };
  }

  /** Logs out, closes the sessions and unloads the module. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.all) {
      try {
        this.p11.C_CloseSession(s);
      } catch {
        // closing anyway
      }
    }
    releaseModule(this.modulePath);
  }

  private find(s: Handle, q: { class: number } & Partial<Pkcs11Uri>): Handle[] {
    const l = this.lib;
    const template: Pkcs11Types.Template = [{ type: l.CKA_CLASS, value: q.class }];
    if (q.object !== undefined) template.push({ type: l.CKA_LABEL, value: q.object });
    if (q.id !== undefined) template.push({ type: l.CKA_ID, value: q.id });
    this.p11.C_FindObjectsInit(s, template);
    try {
      return this.p11.C_FindObjects(s, 16);
    } finally {
      this.p11.C_FindObjectsFinal(s);
    }
  }

  /**
   * Runs `fn` on a free session. When the token answers that the session or the login is gone
   * (an HSM restarted, a network link dropped), the sessions are opened anew, the user logged in
   * again, and `fn` retried once; the first caller to see it reopens, the others wait for that.
   */
  private async withSession<T>(fn: (s: Handle) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new Error(`token "${this.label}" is closed`);
      if (this.reopening) await this.reopening;
      else if (this.all.length === 0) await this.reopen(); // an earlier reopen failed: try again
      const s = this.free.pop() ?? (await new Promise<Handle>((resolve, reject) => this.waiting.push({ resolve, reject })));
      const generation = this.generation;
      try {
        return await fn(s);
      } catch (err) {
        const code = (err as { code?: number }).code;
        if (attempt > 0) throw err;
        if (code === this.lib.CKR_OBJECT_HANDLE_INVALID || code === this.lib.CKR_KEY_HANDLE_INVALID) this.handles.clear();
        else if (!this.sessionLost(err)) throw err;
        else if (generation === this.generation) await this.reopen();
      } finally {
        this.release(s);
      }
    }
  }

  private handleOf(key: NamedUri, s: Handle): Handle {
    let h = this.handles.get(key.uri.text);
    if (!h) {
      const found = this.find(s, { class: this.lib.CKO_PRIVATE_KEY, ...key.uri });
      if (found.length !== 1) throw new Error(`token "${this.label}" no longer holds exactly one ${key.uri.text} (found ${found.length})`);
      this.handles.set(key.uri.text, (h = found[0]!));
    }
    return h;
  }

  private release(s: Handle): void {
    if (!this.all.includes(s)) return; // closed by a reopen
    const next = this.waiting.shift();
    if (next) next.resolve(s);
    else this.free.push(s);
  }

  private sessionLost(err: unknown): boolean {
    const l = this.lib;
    const code = (err as { code?: number }).code;
    return [l.CKR_SESSION_HANDLE_INVALID, l.CKR_SESSION_CLOSED, l.CKR_USER_NOT_LOGGED_IN, l.CKR_DEVICE_REMOVED, l.CKR_TOKEN_NOT_PRESENT].includes(
      code as number,
    );
  }

  private reopen(): Promise<void> {
    this.reopening ??= (async () => {
      this.generation++;
      this.handles.clear();
      for (const s of this.all) {
        try {
          this.p11.C_CloseSession(s);
        } catch {
          // already gone
        }
      }
      try {
        this.openSessions();
      } catch (err) {
        // every waiter fails now; the next operation tries again
        const waiting = this.waiting;
        this.waiting = [];
        for (const w of waiting) w.reject(new Error(`token "${this.label}" is unavailable: ${errorText(err)}`));
        throw err;
      }
      // callers that queued for a session of the old generation get the new ones
      while (this.waiting.length && this.free.length) this.waiting.shift()!.resolve(this.free.pop()!);
    })().finally(() => (this.reopening = undefined));
    return this.reopening;
  }

  /** Opens the session pool and logs the user in (a login holds for every session of the process). */
  private openSessions(): void {
    const l = this.lib;
    const opened: Handle[] = [];
    this.all = [];
    this.free = [];
    try {
      for (let i = 0; i < this.sessions; i++) opened.push(this.p11.C_OpenSession(this.slot, l.CKF_SERIAL_SESSION | l.CKF_RW_SESSION));
      try {
        this.p11.C_Login(opened[0]!, l.CKU_USER, this.pin);
      } catch (err) {
        if ((err as { code?: number }).code !== l.CKR_USER_ALREADY_LOGGED_IN) throw err;
      }
    } catch (err) {
      for (const s of opened) {
        try {
          this.p11.C_CloseSession(s);
        } catch {
          // the first error is the one to report
        }
      }
      throw err;
    }
    this.all = opened;
    this.free = [...opened];
  }

  /** For the start-up calls that are synchronous anyway: any free session (all are idle then). */
  private withSessionSync<T>(fn: (s: Handle) => T): T {
    if (this.closed) throw new Error(`token "${this.label}" is closed`);
    const s = this.free[this.free.length - 1] ?? this.all[0]!;
    return fn(s);
  }
}

/**
 * A module is initialised once per process (a second C_Initialize fails), so the CLI's import and a
 * server in the same process share it; it is finalised when the last token using it closes.
 */
const modules = new Map<string, { p11: Pkcs11Types.PKCS11; users: number }>();

function acquireModule(lib: Pkcs11Module, file: string): Pkcs11Types.PKCS11 {
  const open = modules.get(file);
  if (open) {
    open.users++;
    return open.p11;
  }
  const p11 = new lib.PKCS11();
  try {
    p11.load(file);
    p11.C_Initialize({ flags: lib.CKF_OS_LOCKING_OK });
  } catch (err) {
    throw new ConfigError('SCEPTER_PKCS11_MODULE', `cannot load ${file} as a PKCS#11 module: ${errorText(err)}`);
  }
  modules.set(file, { p11, users: 1 });
  return p11;
}

function releaseModule(file: string): void {
  const open = modules.get(file);
  if (!open || --open.users > 0) return;
  modules.delete(file);
  try {
    open.p11.C_Finalize();
    open.p11.close();
  } catch {
    // unloading anyway
  }
}

function findSlot(lib: Pkcs11Module, p11: Pkcs11Types.PKCS11, named: NamedUri): Handle {
  const uri = named.uri;
  const seen: string[] = [];
  for (const slot of p11.C_GetSlotList(true)) {
    const t = p11.C_GetTokenInfo(slot);
    if (!(t.flags & lib.CKF_TOKEN_INITIALIZED)) continue; // an empty slot (SoftHSM always offers one)
    const label = t.label.trim();
    seen.push(JSON.stringify(label));
    if (uri.token !== undefined && label !== uri.token) continue;
    if (uri.serial !== undefined && t.serialNumber.trim() !== uri.serial) continue;
    if (uri.manufacturer !== undefined && t.manufacturerID.trim() !== uri.manufacturer) continue;
    if (uri.model !== undefined && t.model.trim() !== uri.model) continue;
    return slot;
  }
  throw new ConfigError(named.variable, `no token matches ${uri.text} (tokens present: ${seen.length ? seen.join(', ') : 'none'})`);
}

function readPin(file: string): string {
  let text: string;
  try {
    text = readBoundedText(file, MAX_SECRET_FILE_BYTES);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      'SCEPTER_PKCS11_PIN_FILE',
      `cannot read ${file} (${code === 'EFBIG' ? `larger than ${MAX_SECRET_FILE_BYTES} bytes` : (code ?? 'error')})`,
    );
  }
  checkSecretsPrivate(file, ['the token PIN'], 'SCEPTER_PKCS11_PIN_FILE');
  const pin = text.replace(/\r?\n$/, '');
  if (!pin) throw new ConfigError('SCEPTER_PKCS11_PIN_FILE', `${file} is empty`);
  return pin;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

/** A CK_ULONG attribute value (native byte order, 4 or 8 bytes). */
function ulong(b: Buffer): number {
  return b.length === 8 ? Number(b.readBigUInt64LE()) : b.readUInt32LE();
}

function b64u(b: Buffer): string {
  return b.toString('base64url');
}
