pipeline {
    agent any
    stages {
        stage('build') {
            steps {
                def x = 1  // <-- step-expected
            }
        }
    }
}
