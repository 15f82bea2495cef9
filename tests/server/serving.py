"""What the test servers share: say the port, then serve until killed."""
import os


def announce_and_serve(server, port, port_file):
    """Write PORT to PORT_FILE atomically (the tests wait for the file, so
    it must never be read half-written), then serve until interrupted."""
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0
