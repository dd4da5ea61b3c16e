pipeline {
    agent any
    environment {
        A = 'a'
        A = 'b'  // <-- env-duplicate
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
