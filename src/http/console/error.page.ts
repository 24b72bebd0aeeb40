import { html } from './html';

/** The console's answer to a refused or failed request: the status and the exposed message, escaped. */
export function consoleErrorPage(status: number, message: string): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>${status === 403 ? 'Not allowed' : 'Error'} · Scepter</title>
        <link rel="stylesheet" href="/console/assets/console.css" />
      </head>
      <body>
        <main id="main">
          <h1>${status === 403 ? 'Not allowed' : status === 404 ? 'Not found' : 'Not done'}</h1>
          <div class="error" role="alert"><p>${message}</p></div>
          <p><a href="/console">Back to the console</a></p>
        </main>
      </body>
    </html> `.text;
}
