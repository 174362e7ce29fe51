"""The pipeline's scripts, in the order a video uses them, each with the seconds one run may
take by default (SCRIPT_TIMEOUT_<NAME> overrides it; the runner then kills the run's process
group). The one list: settings build SCRIPT_TIMEOUTS from it, doctor checks each file is there,
and a test keeps the README's table of timeouts and this folder's scripts equal to it."""

PIPELINE_SCRIPTS = {
    "generate_storyboard": 600,
    "generate_asset": 300,
    "create_composite": 120,
    "create_split_screen": 120,
    "generate_video": 1200,
    "generate_audio": 300,
    "generate_sound_effects": 300,
    "assemble_video": 1800,
}
