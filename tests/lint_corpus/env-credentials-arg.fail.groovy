pipeline {
    agent any
    environment {
        A = credentials(SECRET_ID)  // <-- env-credentials-arg
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
