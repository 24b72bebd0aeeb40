/**
 * Pages in the shape of NDES's `mscep_admin` answers: HTML in UTF-16LE with a byte-order mark.
 * Clients (WS1 among them) find the challenge with a regex on
 * `The enrollment challenge password is: <B> XXXXXXXXXXXXXXXX </B>`, so keep that line exact.
 */
const BOM = Buffer.from([0xff, 0xfe]);

export const NDES_CONTENT_TYPE = 'text/html; charset=utf-16';

function page(body: string): Buffer {
  const html =
    '<HTML><Head><Meta HTTP-Equiv="Content-Type" Content="text/html; charset=UTF-16">' +
    '<Title>Network Device Enrollment Service</Title></Head><Body BgColor=#FFFFFF><Font ID=Verdana>' +
    '<P><H2>Network Device Enrollment Service</H2>' +
    body +
    '</Font></Body></HTML>';
  return Buffer.concat([BOM, Buffer.from(html, 'utf16le')]);
}

/** The challenge page; `thumbprint` is the CA certificate's SHA-1 as uppercase hex. */
export function challengePage(challenge: string, thumbprint: string, ttlMinutes: number): Buffer {
  return page(
    '<P> Network Device Enrollment Service allows you to obtain certificates for routers or other network devices using the Simple Certificate Enrollment Protocol (SCEP). ' +
      '<P> To complete certificate enrollment for your network device you will need the following information: ' +
      `<P> The thumbprint (hash value) for the CA certificate is: <B> ${thumbprint} </B> ` +
      `<P> The enrollment challenge password is: <B> ${challenge} </B> ` +
      `<P> This password can be used only once and will expire within ${ttlMinutes} minutes. ` +
      '<P> Each enrollment requires a new challenge password. You can refresh this web page to obtain a new challenge password. ',
  );
}

/** NDES answers a full password cache with HTTP 200 and this page; clients look for the sentence. */
export function cacheFullPage(ttlMinutes: number): Buffer {
  return page(
    '<P> The password cache is full. ' +
      `<P> Unused passwords expire automatically after ${ttlMinutes} minutes; request a new password when devices have used or let expire the outstanding ones. `,
  );
}
