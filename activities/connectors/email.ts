/**
 * The built-in `email` connector: `send` `{ to, cc?, bcc?, subject, text?, html?, from?,
 * reply_to? }` → `{ message_id, accepted, rejected }` through a pooled nodemailer SMTP transport
 * (`WEFT_SMTP_URL`, such as `smtp://user:pass@mail.example.com:587`; `smtps://` for implicit
 * TLS). `from` defaults to `WEFT_SMTP_FROM`.
 *
 * A message some of whose recipients were refused is still sent: they are listed in
 * `rejected`. A message that every recipient refused fails with `SmtpError`.
 */
import nodemailer from 'nodemailer';
import { z } from 'zod';
import { ErrorTypes, nonRetryableFailure, retryableFailure } from '../errors.js';
import { describeTarget, pinnedHost } from '../egress.js';
import { defineAction, defineConnector, type ConnectorEnv } from './connector.js';

interface Mailer {
  transport: ReturnType<typeof nodemailer.createTransport>;
  defaultFrom: string | undefined;
}

/** An address as nodemailer takes it: `a@example.com` or `Ada <a@example.com>`. */
const Address = z.string().regex(/@/, 'expected an email address');
const Addresses = z.union([Address, z.array(Address).min(1)]);

export const EmailSendParams = z
  .strictObject({
    to: Addresses,
    cc: Addresses.optional(),
    bcc: Addresses.optional(),
    subject: z.string(),
    text: z.string().optional(),
    html: z.string().optional(),
    from: Address.optional(),
    reply_to: Address.optional(),
  })
  .refine((p) => p.text !== undefined || p.html !== undefined, {
    message: 'expected "text" or "html"',
    path: ['text'],
  });

function addresses(list: unknown): string[] {
  return Array.isArray(list)
    ? list.map((a) => (typeof a === 'string' ? a : String((a as { address?: string }).address)))
    : [];
}

function toFailure(err: unknown) {
  const { code, responseCode, message } = err as { code?: string; responseCode?: number; message?: string };
  const text = `email: ${message ?? String(err)}`;
  const details = { code, response_code: responseCode };
  // 4xx is "try again later" in SMTP; 5xx is a permanent refusal.
  if (typeof responseCode === 'number') {
    return responseCode >= 500
      ? nonRetryableFailure(ErrorTypes.SmtpError, text, details)
      : retryableFailure(ErrorTypes.SmtpError, text, details);
  }
  if (code === 'EAUTH' || code === 'EENVELOPE' || code === 'EMESSAGE') {
    return nonRetryableFailure(ErrorTypes.SmtpError, text, details);
  }
  return retryableFailure(ErrorTypes.ConnectionError, text, details);
}

function smtpUrl(env: ConnectorEnv): URL | undefined {
  const text = env.WEFT_SMTP_URL;
  if (!text) return undefined;
  try {
    const url = new URL(text);
    if ((url.protocol === 'smtp:' || url.protocol === 'smtps:') && url.hostname) return url;
  } catch {
    // reported below
  }
  throw nonRetryableFailure(
    ErrorTypes.NotConfigured,
    'email: WEFT_SMTP_URL must be an smtp:// or smtps:// URL with a host',
  );
}

function smtpPort(url: URL): number {
  return Number(url.port || (url.protocol === 'smtps:' ? 465 : 587));
}

export const emailConnector = defineConnector<Mailer>({
  service_type: 'email',
  targets(env) {
    const url = smtpUrl(env);
    return url ? [{ host: url.hostname, port: smtpPort(url) }] : [];
  },
  describe(env) {
    const url = smtpUrl(env);
    return url ? describeTarget(url.hostname, smtpPort(url)) : undefined;
  },
  connect(env, [pinned]) {
    const url = smtpUrl(env);
    if (!url || !pinned) {
      return Promise.reject(
        nonRetryableFailure(ErrorTypes.NotConfigured, 'email: set WEFT_SMTP_URL (such as smtp://mail.example.com:587)'),
      );
    }
    // Connect to the checked address; TLS (smtps://, STARTTLS) still verifies the certificate for the name.
    const servername = url.hostname.replace(/^\[|\]$/g, '');
    const connect = new URL(url);
    connect.hostname = pinnedHost(pinned);
    connect.port = String(smtpPort(url));
    const transport = nodemailer.createTransport({ url: connect.toString(), pool: true, tls: { servername } });
    return Promise.resolve({ transport, defaultFrom: env.WEFT_SMTP_FROM });
  },
  disconnect: ({ transport }) => Promise.resolve(transport.close()),
  actions: {
    send: defineAction({
      params: EmailSendParams,
      async execute({ transport, defaultFrom }, params) {
        const from = params.from ?? defaultFrom;
        if (!from) {
          throw nonRetryableFailure(ErrorTypes.InvalidParams, 'email.send: give "from" or set WEFT_SMTP_FROM');
        }
        try {
          const info = (await transport.sendMail({
            from,
            to: params.to,
            cc: params.cc,
            bcc: params.bcc,
            replyTo: params.reply_to,
            subject: params.subject,
            text: params.text,
            html: params.html,
          })) as { messageId: string; accepted: unknown; rejected: unknown };
          return { message_id: info.messageId, accepted: addresses(info.accepted), rejected: addresses(info.rejected) };
        } catch (err) {
          throw toFailure(err);
        }
      },
    }),
  },
});
