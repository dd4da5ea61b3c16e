pipeline {
    agent any
    environment { }  // <-- env-empty
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
