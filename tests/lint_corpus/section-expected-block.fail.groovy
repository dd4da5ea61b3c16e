pipeline {
    agent any
    environment 'A=1'  // <-- section-expected-block
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
