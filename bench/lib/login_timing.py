#!/usr/bin/env python3
"""Times the PIN and login doors for registered and unknown codici fiscali, interleaved. Used by
bench/parts/52-login-timing:

    python3 bench/lib/login_timing.py BASE KNOWN UNKNOWN SAMPLES

KNOWN is what `sportello pin issue` writes (codice_fiscale,pin,simplified_pin): people of the registry holding a
PIN; UNKNOWN has one codice fiscale outside the registry a line. Each door gets SAMPLES pairs (after WARM_UP
uncounted ones), one known and one unknown codice fiscale each, in a random order within the pair, each on a person
no other request used (so that no lock or earlier request changes what is measured); the doors take turns, a pair
each. Logins send a wrong PIN naming the slot of the
person's real one, so that a known person's PIN is really verified. One keep-alive connection; a pause after each
request lets work done after the answer (the PIN issued in the background) end before the next is timed.

Prints one line a door: door=NAME samples=N known_ms=MEDIAN unknown_ms=MEDIAN ratio=KNOWN/UNKNOWN
known_p90_ms=… unknown_p90_ms=…; exits non-zero if any answer is not the one expected.
"""

import http.client
import random
import re
import statistics
import sys
import time
import urllib.parse

PAUSE = 0.05
WARM_UP = 20


def wrong_pin(simplified):
    """A PIN of the same slot (same first symbol) that is not `simplified`."""
    last = "3" if simplified[-1] != "3" else "4"
    return simplified[:-1] + last


class Portal:
    def __init__(self, base):
        url = urllib.parse.urlsplit(base)
        self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        self.cookies = {}

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        start = time.perf_counter()
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        elapsed = time.perf_counter() - start
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, data.decode("utf-8", "replace"), elapsed * 1000

    def csrf(self, path):
        status, body, _ = self.request("GET", path)
        match = re.search(r'name="csrf" value="([0-9a-f]+)"', body)
        if status != 200 or not match:
            sys.exit(f"GET {path}: {status}, no CSRF token")
        return match.group(1)


def form(fields):
    return urllib.parse.urlencode(fields), {"Content-Type": "application/x-www-form-urlencoded"}


def pin_page(portal, token):
    def send(cf, _simplified, n):
        body, headers = form({"csrf": token, "codice_fiscale": cf, "contatto": f"timing{n}@example.it"})
        return portal.request("POST", "/pin", body, headers)
    return send, 200


def login_page(portal, token):
    def send(cf, simplified, _n):
        body, headers = form({"csrf": token, "codice_fiscale": cf, "pin": wrong_pin(simplified)})
        return portal.request("POST", "/accedi", body, headers)
    return send, 401


def api_login(portal):
    def send(cf, simplified, _n):
        body = '{"codice_fiscale":"%s","pin":"%s"}' % (cf, wrong_pin(simplified))
        return portal.request("POST", "/api/v1/sessions", body, {"Content-Type": "application/json"})
    return send, 401


def p90(values):
    return sorted(values)[int(len(values) * 0.9) - 1]


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    base, known_path, unknown_path, samples = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    with open(known_path) as f:
        known = [line.strip().split(",") for line in f.readlines()[1:] if line.strip()]
    with open(unknown_path) as f:
        unknown = [line.strip() for line in f if line.strip()]
    doors = 3
    rounds = WARM_UP + samples
    if len(known) < doors * rounds or len(unknown) < doors * rounds:
        sys.exit(f"need {doors * rounds} known and unknown codici fiscali, have {len(known)} and {len(unknown)}")
    random.seed(2020)
    portal = Portal(base)
    pin_token = portal.csrf("/pin")
    login_token = portal.csrf("/accedi")
    plans = [
        ("api-sessions", *api_login(portal)),
        ("page-login", *login_page(portal, login_token)),
        ("page-pin", *pin_page(portal, pin_token)),
    ]
    times = {name: {"known": [], "unknown": []} for name, _, _ in plans}
    # Round by round, one pair a door, so that whatever else loads the machine meanwhile weighs on every door and on
    # both kinds alike; the first rounds warm the portal up and are not counted.
    for r in range(rounds):
        for d, (name, send, expected) in enumerate(plans):
            n = r * doors + d
            k = known[n]
            # An unknown person gets a simplified PIN of the same shape as a known one's.
            pair = [("known", k[0], k[2]), ("unknown", unknown[n], k[2])]
            random.shuffle(pair)
            for kind, cf, simplified in pair:
                status, body, ms = send(cf, simplified, n)
                if status != expected:
                    sys.exit(f"{name}: {kind} {status} (expected {expected}): {body[:300]}")
                if r >= WARM_UP:
                    times[name][kind].append(ms)
                time.sleep(PAUSE)
    for name, _, _ in plans:
        known_ms, unknown_ms = times[name]["known"], times[name]["unknown"]
        km, um = statistics.median(known_ms), statistics.median(unknown_ms)
        print(f"door={name} samples={samples} known_ms={km:.3f} unknown_ms={um:.3f} ratio={km / um:.3f} "
              f"known_p90_ms={p90(known_ms):.3f} unknown_p90_ms={p90(unknown_ms):.3f}", flush=True)


if __name__ == "__main__":
    main()
