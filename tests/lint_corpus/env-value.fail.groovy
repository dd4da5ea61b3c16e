pipeline {
    agent any
    environment {
        A = [1, 2]  // <-- env-value
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
