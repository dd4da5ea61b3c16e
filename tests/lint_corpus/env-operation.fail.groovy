pipeline {
    agent any
    environment {
        A = 'a' - 'b'  // <-- env-operation
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
