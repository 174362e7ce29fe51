#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videogen.settings")
    # A command's stdout is what it says to the person; its log lines go to stderr.
    os.environ.setdefault("LOG_STREAM", "stderr")
    from videogen.startup import exit_on_settings_problem, run_command

    exit_on_settings_problem()
    run_command(sys.argv)


if __name__ == "__main__":
    main()
