"""SMTP server for the mailer tests: saves every message it accepts.

Each message becomes NNNNNN.eml (the bytes received after the DATA
command) next to NNNNNN.json (the envelope sender and recipients).  The
.json file is written last, so a test that finds it can read both.  With
--reply-delay the server waits that many seconds after saving a message
before it replies 250, which lets a test stop the mailer in between.  With
--auth USER:PASSWORD the server requires AUTH PLAIN or LOGIN without TLS,
which is acceptable only on the loopback address these tests use.  With
--tls-cert and --tls-key the server offers STARTTLS with that certificate.
"""
import argparse
import asyncio
import itertools
import json
import os
import signal
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class SavingHandler:
    def __init__(self, directory, reply_delay):
        self.directory = directory
        self.reply_delay = reply_delay
        self.counter = itertools.count(1)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            number = next(self.counter)
        base = os.path.join(self.directory, "%06d" % number)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".eml.tmp", base + ".eml")
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".json.tmp", base + ".json")
        if self.reply_delay:
            await asyncio.sleep(self.reply_delay)
        return "250 Message accepted for delivery"


def make_authenticator(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login.decode() == user and
              auth_data.password.decode() == password)
        return AuthResult(success=ok)
    return authenticate


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--auth", help="USER:PASSWORD to require")
    parser.add_argument("--reply-delay", type=float, default=0.0,
                        help="seconds to wait before accepting a message")
    parser.add_argument("--tls-cert", help="certificate to offer STARTTLS with")
    parser.add_argument("--tls-key", help="private key of --tls-cert")
    args = parser.parse_args()

    os.makedirs(args.dir, exist_ok=True)
    kwargs = {}
    if args.auth:
        user, password = args.auth.split(":", 1)
        kwargs = {"authenticator": make_authenticator(user, password),
                  "auth_required": True, "auth_require_tls": False}
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        kwargs["tls_context"] = context
    controller = Controller(SavingHandler(args.dir, args.reply_delay), hostname="127.0.0.1",
                            port=args.port, **kwargs)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
