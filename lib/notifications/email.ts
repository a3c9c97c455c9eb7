/**
 * Notification e-mails over SMTP (SMTP_URL, SMTP_FROM in lib/env.ts). Optional: without
 * SMTP_URL, notifications are in-app only.
 *
 * What goes in an e-mail is decided by the caller and must hold no PHI (counts, the pool's
 * name and a link only): mail leaves the hospital's control once sent. The SMTP URL holds a
 * password: it is never logged, and a send failure is logged by error class and SMTP code only.
 */
import nodemailer from 'nodemailer';
import { env } from '../env';

export interface SmtpConfig {
  url: string;
  from: string;
}

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

/** The configured SMTP server, or null when e-mail is off. */
export function smtpConfig(): SmtpConfig | null {
  const e = env();
  return e.SMTP_URL && e.SMTP_FROM ? { url: e.SMTP_URL, from: e.SMTP_FROM } : null;
}

export class MailError extends Error {
  constructor(
    message: string,
    readonly smtpCode: number | null,
  ) {
    super(message);
    this.name = 'MailError';
  }
}

/** Sends one plain-text message; throws MailError (no address, no server reply text) when the server does not accept it. */
export async function sendMail(config: SmtpConfig, msg: MailMessage): Promise<void> {
  const transport = nodemailer.createTransport(config.url, { connectionTimeout: 15_000, greetingTimeout: 15_000, socketTimeout: 30_000 });
  try {
    await transport.sendMail({ from: config.from, to: msg.to, subject: msg.subject, text: msg.text });
  } catch (e) {
    const code = typeof (e as { responseCode?: unknown }).responseCode === 'number' ? (e as { responseCode: number }).responseCode : null;
    const kind = String((e as { code?: unknown }).code ?? 'error');
    throw new MailError(`The mail server did not accept the message (${kind}${code ? ` ${code}` : ''})`, code);
  } finally {
    transport.close();
  }
}
