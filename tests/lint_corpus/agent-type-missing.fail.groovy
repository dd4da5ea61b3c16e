pipeline {
    agent { }  // <-- agent-type-missing
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
