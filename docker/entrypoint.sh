#!/bin/sh
# The image's entrypoint: runs the command as videogen (uid 1000) with a data folder it can write.
# Started as root (the image's default), it gives the data folder and the workspace to videogen
# when another user owns them (a volume mounted root-owned, as Railway and Docker mount a new
# one), then drops to videogen. Started as another user, it refuses in one line when the folders
# are not writable, instead of a worker that reports ready and fails at the first video.
set -eu
data="${VIDEOGEN_DATA_DIR:-/data}"
workspace="${WORKSPACE_ROOT:-$data/workspace}"

if [ "$(id -u)" = 0 ]; then
  for folder in "$data" "$workspace"; do
    mkdir -p "$folder"
    if [ "$(stat -c %u "$folder")" != 1000 ]; then
      chown -R videogen:videogen "$folder"
    fi
  done
  export HOME=/home/videogen
  exec setpriv --reuid=videogen --regid=videogen --init-groups -- "$@"
fi

for folder in "$data" "$workspace"; do
  if ! mkdir -p "$folder" 2>/dev/null || [ ! -w "$folder" ]; then
    echo "videogen-entrypoint: $folder is not writable by uid $(id -u): start the container as root (the entrypoint then gives it to uid 1000 and drops to it) or chown -R 1000:1000 the volume" >&2
    exit 78
  fi
done
exec "$@"
