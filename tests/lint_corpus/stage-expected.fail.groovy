pipeline {
    agent any
    stages {
        steps { echo 'x' }  // <-- stage-expected
    }
}
