// The web console over plain HTTP, as a browser would use it (tests that need no browser).
/** A cookie jar and the console's forms, as a browser would fill them. */
export class Visitor {
  cookies = new Map<string, string>();
  constructor(readonly base: string) {}
  private header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  private keep(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const [k, v] = [pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1)];
      if (attrs.some((a) => /max-age=0/i.test(a.trim()))) this.cookies.delete(k);
      else this.cookies.set(k, v);
    }
  }
  async get(path: string): Promise<{ res: Response; text: string }> {
    const res = await fetch(this.base + path, { headers: { cookie: this.header() }, redirect: 'manual' });
    this.keep(res);
    return { res, text: await res.text() };
  }
  async post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<{ res: Response; text: string }> {
    const res = await fetch(this.base + path, {
      method: 'POST',
      headers: { cookie: this.header(), 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(fields),
      redirect: 'manual',
    });
    this.keep(res);
    return { res, text: await res.text() };
  }
  async signIn(email: string, password: string, code?: string): Promise<Response> {
    const { text } = await this.get('/console/sign-in');
    const token = /name="_csrf" value="([^"]+)"/.exec(text)![1]!;
    return (await this.post('/console/sign-in', { _csrf: token, email, password, ...(code ? { code } : {}) })).res;
  }
  async csrf(from = '/console/account'): Promise<string> {
    return /<meta name="csrf-token" content="([^"]+)"/.exec((await this.get(from)).text)![1]!;
  }
}
