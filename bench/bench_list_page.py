"""Latency of the accounts list page and API at 20,000 accounts: plain, searched, sorted."""

from __future__ import annotations

import random

from harness import percentiles, report, setup_django, time_calls

ACCOUNTS = 20_000
REPEAT = 60


def main() -> None:
    database = setup_django()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from bizloom.crm.models import Account

    rng = random.Random(7)
    admin = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-password")
    cities = ["上海", "北京", "深圳", "杭州", "成都", "Hong Kong", "Singapore"]
    Account.objects.bulk_create(
        [Account(name=f"{rng.choice(['华东', '华南', '远航', '云启', 'Acme', 'Globex'])}{i:05d}有限公司",
                 city=rng.choice(cities), owner=admin) for i in range(ACCOUNTS)],
        batch_size=2000,
    )
    client = Client()
    client.force_login(admin)
    workloads = {
        "list_page": "/crm/accounts/",
        "list_page_search_chinese": "/crm/accounts/?q=云启",
        "list_page_sorted_desc": "/crm/accounts/?sort=-name",
        "api_list": "/api/v1/crm/accounts",
        "api_list_search": "/api/v1/crm/accounts?q=云启",
    }
    for workload, url in workloads.items():
        assert client.get(url).status_code == 200, url  # warm up; a failing page is not a measurement
        samples = time_calls(lambda url=url: client.get(url), REPEAT)
        report(workload=workload, rows=ACCOUNTS, database=database, requests=REPEAT, **percentiles(samples))


if __name__ == "__main__":
    main()
