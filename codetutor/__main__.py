from codetutor.cli import main

main()
