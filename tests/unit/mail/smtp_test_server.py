"""An aiosmtpd server for the SmtpMailer tests (tests/unit/mail/smtp_mailer_test.cpp).

Listens on 127.0.0.1 on a port the kernel picks and prints that port as its
first line on stdout, so the test needs neither a guessed port nor a sleep.
Saves each accepted mail into the maildir given as the argument and runs until
SIGTERM. Options turn on the behaviours under test: a 550 for every
recipient, required AUTH, required STARTTLS, or implicit TLS (SMTPS).
"""

import argparse
import asyncio
import signal
import ssl

from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class RejectingMailbox(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return "550 no such user"


def tls_context(cert, key):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("maildir")
    parser.add_argument("--reject-rcpt", action="store_true")
    parser.add_argument("--auth", metavar="USER:PASSWORD")
    parser.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--smtps", nargs=2, metavar=("CERT", "KEY"))
    args = parser.parse_args()

    handler = RejectingMailbox(args.maildir) if args.reject_rcpt else Mailbox(args.maildir)
    # A fixed hostname: the default, socket.getfqdn(), can wait on DNS.
    options = {"hostname": "localhost"}
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login == user.encode()
                  and auth_data.password == password.encode())
            # handled=False makes aiosmtpd send the 535 itself; its default,
            # True, means "already answered" and leaves the client waiting.
            return AuthResult(success=ok, handled=False)

        options.update(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    if args.starttls:
        options.update(tls_context=tls_context(*args.starttls), require_starttls=True)
    server_tls = tls_context(*args.smtps) if args.smtps else None

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(
        loop.create_server(lambda: SMTP(handler, loop=loop, **options), "127.0.0.1", 0,
                           ssl=server_tls))
    print(server.sockets[0].getsockname()[1], flush=True)
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.run_forever()
    server.close()


if __name__ == "__main__":
    main()
