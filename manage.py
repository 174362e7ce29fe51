#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videogen.settings")
    from videogen.startup import exit_on_settings_problem, run_command

    exit_on_settings_problem()
    run_command(sys.argv)


if __name__ == "__main__":
    main()
