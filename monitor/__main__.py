from monitor.cli import main

if __name__ == "__main__":  # parser workers are spawned and re-import this module
    main()
