"""The older channel file form, as the architecture document shows it:

    channel_id: pokechannel1
    channel_name: "Poke Nature"
    schedule: daily            # or a cron line: "0 15 * * 1,4"
    notion_database_id: ...
    youtube_channel_id: UC...
    budget_daily_usd: 15.00

Operators already have files like this, so they load as they are: the older names are rewritten
into the current form before the one schema checks them (weekly budget 7x the daily one unless
budget_weekly_usd says otherwise, every other field its default), and errors name the key the
person wrote. A file that mixes an older key with its current counterpart is refused, naming both.
"""

from decimal import Decimal

import yaml

# older key -> the current field path it stands for
LEGACY_KEYS = {
    "channel_id": "id",
    "channel_name": "name",
    "budget_daily_usd": "budget.daily_usd",
    "budget_weekly_usd": "budget.weekly_usd",
}
WEEKLY_FROM_DAILY = 7
_CRON_FIELD_COUNT = 5
# cron numbers the days from sunday = 0 (7 is sunday too); the current form names them
_CRON_DAY_NAMES = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}


def is_legacy_form(data):
    return isinstance(data, dict) and any(key in data for key in LEGACY_KEYS)


def legacy_form_translate(data):
    """The current-form mapping equivalent to an older-form file. Returns (current, errors,
    renames): errors are (path, message) pairs for keys of both forms in one file and for a bad
    cron schedule; renames maps current field paths back to the older key the file used, so an
    error about `budget.daily_usd` says `budget_daily_usd`."""
    errors, current = [], {}
    # where the current schema would report a missing field, the file is told the older key
    renames = {"id": "channel_id", "name": "channel_name", "budget": "budget_daily_usd"}
    for key, value in data.items():
        target = LEGACY_KEYS.get(key)
        if target is None:
            current.setdefault(key, value)
            continue
        top = target.split(".")[0]
        if top in data:
            errors.append(
                (
                    key,
                    f"the older form's {key} and the current form's {top} are both in this "
                    f"file; keep one of them (a file is written in one form or the other; "
                    "channel_configs/_example.yaml shows the current one)",
                )
            )
            continue
        renames[target] = key
        if "." in target:
            current.setdefault(top, {})[target.split(".")[1]] = value
        else:
            current[target] = value
    budget = current.get("budget")
    if isinstance(budget, dict) and "daily_usd" in budget and "weekly_usd" not in budget:
        budget["weekly_usd"] = _weekly_from_daily(budget["daily_usd"])
        renames["budget.weekly_usd"] = "budget_daily_usd"
    schedule = current.get("schedule")
    if isinstance(schedule, str) and len(schedule.split()) == _CRON_FIELD_COUNT:
        try:
            # the schedule's fields take its place, so the current form reads in the same order
            fields = _cron_schedule(schedule, current)
            current = {
                name: item
                for key, value in current.items()
                for name, item in (fields.items() if key == "schedule" else [(key, value)])
            }
        except ValueError as error:
            errors.append(("schedule", str(error)))
            del current["schedule"]  # reported here; the schema would only say "not a choice"
    return current, errors, renames


def _weekly_from_daily(daily):
    """7x the daily budget in whole cents; a bad daily value is passed on as it is, so the one
    error about it is reported once, under budget_daily_usd."""
    if isinstance(daily, bool) or not isinstance(daily, int | float) or daily <= 0:
        return daily
    weekly = Decimal(str(daily)) * WEEKLY_FROM_DAILY
    return int(weekly) if weekly == weekly.to_integral_value() else float(round(weekly, 2))


def _cron_schedule(line, data):
    """A cron line "MINUTE HOUR * * DAYS" as schedule + publish_time (+ publish_days)."""
    usage = (
        'a cron schedule must be "MINUTE HOUR * * DAYS" (e.g. "0 15 * * *" daily at 15:00, '
        f'"30 9 * * mon,thu" weekly), got {line!r}'
    )
    minute, hour, day_of_month, month, days = line.split()
    if not (minute.isdigit() and hour.isdigit()) or int(minute) > 59 or int(hour) > 23:
        raise ValueError(usage)
    if day_of_month != "*" or month != "*":
        raise ValueError(usage + "; days of the month and months are not supported")
    for key in ("publish_time", "publish_days"):
        if key in data:
            raise ValueError(f"the cron schedule already sets the days and time; remove {key}")
    result = {"publish_time": f"{int(hour):02d}:{int(minute):02d}"}
    if days == "*":
        return {"schedule": "daily", **result}
    return {"schedule": "weekly", **result, "publish_days": _cron_days(days, usage)}


def _cron_days(days, usage):
    numbers = set()
    for part in days.lower().split(","):
        low, _, high = part.partition("-")
        try:
            first, last = _cron_day(low), _cron_day(high or low)
        except ValueError:
            raise ValueError(usage) from None
        if first > last:
            raise ValueError(usage + f"; the range {part!r} runs backwards")
        numbers.update(range(first, last + 1))
    by_number = {number: name for name, number in _CRON_DAY_NAMES.items()}
    return [by_number[number % 7] for number in sorted(numbers, key=lambda n: (n % 7 + 6) % 7)]


def _cron_day(text):
    if text[:3] in _CRON_DAY_NAMES:
        return _CRON_DAY_NAMES[text[:3]]
    if text.isdigit() and int(text) <= 7:
        return int(text)
    raise ValueError(text)


def rename_error_path(path, renames):
    """An error path in the current form, as the older-form file wrote it."""
    for current, legacy in sorted(renames.items(), key=lambda item: -len(item[0])):
        if path == current or path.startswith(current + ".") or path.startswith(current + "["):
            return legacy + path[len(current) :]
    return path


LEGACY_EXAMPLES = {
    "channel_id": "channel_id: <the file name without .yaml>",
    "channel_name": 'channel_name: "My Channel"',
    "budget_daily_usd": "budget_daily_usd: 25",
}


def legacy_error(path, message, renames):
    """(path, message) of the current schema, reworded for an older-form file."""
    legacy_path = rename_error_path(path, renames)
    if message.startswith("is required") and legacy_path in LEGACY_EXAMPLES:
        message = f"is required (e.g. {LEGACY_EXAMPLES[legacy_path]})"
    # messages that name another field or suggest a fix say it in the file's own words
    message = message.replace("budget.daily_usd", "budget_daily_usd")
    if legacy_path == "channel_id":
        message = message.replace("(or set id: ", "(or set channel_id: ")
    return legacy_path, message


def current_form_hint(current):
    """The current form of a translated file, as YAML a person can paste over the old one."""
    return yaml.safe_dump(current, sort_keys=False, allow_unicode=True, default_flow_style=False)
