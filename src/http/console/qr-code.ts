import QRCode from 'qrcode';

/**
 * A QR code of `text` as a data: URL of an SVG image, made on the server (no script, nothing
 * fetched; the console's CSP allows `img-src data:`). For otpauth:// URIs an authenticator app scans.
 */
export async function qrCodeDataUrl(text: string): Promise<string> {
  const svg = await QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2, color: { dark: '#000000', light: '#ffffff' } });
  return `data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}`;
}
