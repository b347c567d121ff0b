"""A real SMTP server for klaxon's email tests: aiosmtpd (Debian package
python3-aiosmtpd, imported by /usr/bin/python3) with a handler that stores
every accepted message in a directory, so the Rust test can parse it.

    smtp_sink.py --port P --dir D [--starttls CERT KEY] [--smtps CERT KEY]
                 [--auth USER:PASSWORD]

For each message N it writes D/msg-N.eml (the raw DATA, as received) and
D/msg-N.json (envelope sender, recipients, EHLO name, whether the session
was TLS, the authenticated user), each renamed into place when complete.
Recipients whose local part starts with "reject" get a permanent
"550 5.1.1" and those starting with "busy" a transient "451 4.3.0", as a
real mail server refuses an unknown or over-quota mailbox. When the server
is listening it writes D/ready. It runs until killed.
"""

import argparse
import json
import os
import ssl
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if local.startswith("busy"):
            return "451 4.3.0 <%s>: Mailbox busy, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = "msg-%04d" % self.count
        login = None
        if session.authenticated and isinstance(session.auth_data, LoginPassword):
            login = session.auth_data.login.decode("utf-8", "replace")
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "helo": session.host_name,
            "tls": session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
            "auth": login,
        }
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        for ext, data in ((".eml", raw), (".json", json.dumps(meta).encode("utf-8"))):
            tmp = os.path.join(self.directory, "." + name + ext + ".tmp")
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, os.path.join(self.directory, name + ext))
        return "250 2.0.0 Ok: queued as KLX%04d" % self.count


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        if (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode("utf-8", "replace") == user
            and auth_data.password.decode("utf-8", "replace") == password
        ):
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)

    return check


def tls_context(cert, key):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--smtps", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--auth", metavar="USER:PASSWORD")
    args = parser.parse_args()

    kwargs = {}
    if args.starttls:
        kwargs["tls_context"] = tls_context(*args.starttls)
        kwargs["require_starttls"] = True
    if args.smtps:
        kwargs["ssl_context"] = tls_context(*args.smtps)
    if args.auth:
        user, password = args.auth.split(":", 1)
        kwargs["authenticator"] = authenticator(user, password)
        kwargs["auth_required"] = True
        # Over implicit TLS the session is already secure.
        kwargs["auth_require_tls"] = not args.smtps

    controller = Controller(
        Sink(args.dir),
        hostname="127.0.0.1",
        port=args.port,
        server_hostname="sink.klaxon.test",
        **kwargs,
    )
    controller.start()
    with open(os.path.join(args.dir, "ready"), "w") as f:
        f.write("ready\n")
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
