pipeline {
    agent any
    stages {
        stage('a', 'b') {  // <-- stage-without-block
            steps { echo 'x' }
        }
    }
}
