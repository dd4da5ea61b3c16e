pipeline {
    agent any
    stages { }  // <-- stages-empty
}
