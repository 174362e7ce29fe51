"""Races on real PostgreSQL: several threads, each with its own database connection, released at
the same instant by a barrier, over many rounds."""

import threading

from django.db import connection


def race(action, *, threads=4, rounds=40, before_round=None):
    """Run action(index) in `threads` threads at the same instant, `rounds` times. Returns one
    list of results per round (in thread order); an exception in a thread is its result."""
    results = []
    for round_number in range(rounds):
        if before_round:
            before_round(round_number)
        results.append(_one_round(action, threads))
    return results


def _one_round(action, threads):
    start = threading.Barrier(threads)
    outcome = [None] * threads

    def run(index):
        try:
            start.wait(timeout=10)
            outcome[index] = action(index)
        except Exception as error:  # noqa: BLE001 - reported as the thread's result
            outcome[index] = error
        finally:
            connection.close()

    workers = [threading.Thread(target=run, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return outcome


def errors_in(results):
    return [result for outcome in results for result in outcome if isinstance(result, Exception)]
